// CSV for the contact import: RFC 4180 (quoted fields, doubled quotes, commas and line breaks inside quotes,
// CRLF or LF), and the mapping of its columns onto contacts. Rows are numbered as a spreadsheet shows them
// (the header is row 1), so a refused row can be found in the file.

export function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  const src = text.replace(/^\uFEFF/, '');
  for (let i = 0; i < src.length; i += 1) {
    const ch = src[i];
    if (quoted) {
      if (ch === '"' && src[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (ch === '"') {
        quoted = false;
      } else {
        if (ch === '\n') line += 1;
        field += ch;
      }
    } else if (ch === '"' && field === '') {
      quoted = true;
    } else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && src[i + 1] === '\n') i += 1;
      row.push(field);
      rows.push({ line: rowLine, cells: row });
      row = [];
      field = '';
      line += 1;
      rowLine = line;
    } else {
      field += ch;
    }
  }
  if (quoted) throw new Error(`a quoted field that starts on line ${rowLine} never ends`);
  if (field !== '' || row.length) {
    row.push(field);
    rows.push({ line: rowLine, cells: row });
  }
  return rows.filter((r) => r.cells.some((c) => c.trim() !== ''));
}

const COLUMNS = {
  name: 'displayName',
  displayname: 'displayName',
  fullname: 'displayName',
  phone: 'phoneNumber',
  phonenumber: 'phoneNumber',
  mobile: 'phoneNumber',
  whatsapp: 'phoneNumber',
  email: 'email',
  emailaddress: 'email',
  tags: 'tags',
};

/** {items: [{row, contact}], problems: [{row, field, problem}]} from parsed rows (the first is the header). */
export function rowsToContacts(rows) {
  if (!rows.length) return { items: [], problems: [] };
  const [header, ...data] = rows;
  const keys = header.cells.map((h) => h.trim());
  const roles = keys.map((k) => COLUMNS[k.toLowerCase().replace(/[\s_-]/g, '')] || '');
  if (!roles.includes('phoneNumber') && !roles.includes('email')) {
    throw new Error('the first line must name a phone or an email column');
  }
  const items = [];
  const problems = [];
  for (const { line, cells } of data) {
    if (cells.length > keys.length) {
      problems.push({ row: line, field: '', problem: `${cells.length} values for ${keys.length} columns` });
      continue;
    }
    const contact = { attributes: {} };
    cells.forEach((raw, i) => {
      const value = raw.trim();
      if (!value) return;
      if (roles[i] === 'tags') contact.tags = value.split(/[;|]/).map((t) => t.trim()).filter(Boolean);
      else if (roles[i]) contact[roles[i]] = value;
      else contact.attributes[keys[i]] = value;
    });
    items.push({ row: line, contact });
  }
  return { items, problems };
}
