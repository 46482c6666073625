// Compares a deterministic sample of customers field by field between legacy and the new CRM
// (every 10th id), applying the migration's own normalisation. Exit 1 on any difference.
import Database from 'better-sqlite3';

const legacy = new Database('data/legacy.db', { readonly: true });
const crm = new Database('data/crm.db', { readonly: true });
const ids = legacy
  .prepare('SELECT id FROM customers WHERE id % 10 = 0 ORDER BY id')
  .all()
  .map((r) => r.id);
let differences = 0;
for (const id of ids) {
  const a = legacy.prepare('SELECT * FROM customers WHERE id = ?').get(id);
  const b = crm.prepare('SELECT * FROM customers WHERE id = ?').get(id);
  if (!b) {
    console.log(`customer ${id}: missing in the new CRM`);
    differences += 1;
    continue;
  }
  for (const field of ['name', 'country', 'balance_cents']) {
    if (a[field] !== b[field]) {
      console.log(`customer ${id}.${field}: ${JSON.stringify(a[field])} != ${JSON.stringify(b[field])}`);
      differences += 1;
    }
  }
  if (a.email.trim().toLowerCase() !== b.email) {
    console.log(`customer ${id}.email: ${JSON.stringify(a.email)} != ${JSON.stringify(b.email)}`);
    differences += 1;
  }
}
console.log(`sample of ${ids.length} customers: ${differences} difference(s)`);
process.exit(differences === 0 ? 0 : 1);
