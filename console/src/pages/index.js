// The console's pages. A page module exports {title, path (where the navigation points), role (the lowest role
// that sees it), routes: [{path, view}]}; adding a page is one module and one line here. Planned: commerce
// (links and forms: /v1/links, /v1/forms; invoices and payments: /v1/invoices, /v1/payments) as two modules
// built the same way as campaigns.js.

import audit from './audit.js';
import campaigns from './campaigns.js';
import contacts from './contacts.js';
import deadLetters from './deadletters.js';
import inbox from './inbox.js';
import templates from './templates.js';

export const MODULES = [inbox, contacts, campaigns, templates, deadLetters, audit];

/** Every route of every module, each knowing its module's title and role. */
export const ROUTES = MODULES.flatMap((m) => m.routes.map((r) => ({ title: m.title, role: m.role, ...r })));
