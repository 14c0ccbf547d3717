// The contact import's CSV reading, without a browser: `node --test console/test` (tests/console/test_units.py).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCsv, rowsToContacts } from '../src/lib/csv.js';

test('quoted fields keep their commas, doubled quotes and line breaks; rows keep their line numbers', () => {
  const rows = parseCsv('\uFEFFname,phone\r\n"Das, Priya",+919812340003\r\n"Say ""hi""\nthere",+919812340004\n\n,\n');
  assert.deepEqual(rows, [
    { line: 1, cells: ['name', 'phone'] },
    { line: 2, cells: ['Das, Priya', '+919812340003'] },
    { line: 3, cells: ['Say "hi"\nthere', '+919812340004'] },
  ]);
});

test('a quote that never ends is refused, naming its line', () => {
  assert.throws(() => parseCsv('name,phone\n"Open,+91\n'), /line 2/);
});

test('columns map onto contacts; other columns become attributes; tags split on ; or |', () => {
  const { items, problems } = rowsToContacts(
    parseCsv('Full Name,Mobile,E-mail Address,Tags,City\nAsha,+919812340001,a@example.com,vip;delhi|new,Delhi\nBad,1,2,3,4,5\n'),
  );
  assert.deepEqual(items, [
    {
      row: 2,
      contact: { displayName: 'Asha', phoneNumber: '+919812340001', email: 'a@example.com', tags: ['vip', 'delhi', 'new'], attributes: { City: 'Delhi' } },
    },
  ]);
  assert.deepEqual(problems, [{ row: 3, field: '', problem: '6 values for 5 columns' }]);
});

test('a file without a phone or email column is refused as a whole', () => {
  assert.throws(() => rowsToContacts(parseCsv('name,city\nAsha,Delhi\n')), /phone or an email column/);
});
