// Stand-in for the legacy CRM: creates data/legacy.db with 200 customers and 600 orders,
// fresh on every rehearsal so runs are comparable. A real runbook would not have this step.
import { mkdirSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';

mkdirSync('data', { recursive: true });
rmSync('data/legacy.db', { force: true });
const db = new Database('data/legacy.db');
db.exec(`
  CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  INSERT INTO settings VALUES ('mode', 'read-write');
  CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, email TEXT, country TEXT, balance_cents INTEGER);
  CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER, total_cents INTEGER, placed_on TEXT);
`);
const countries = ['FR', 'DE', 'NL', 'BE', 'ES'];
const insertCustomer = db.prepare('INSERT INTO customers VALUES (?, ?, ?, ?, ?)');
const insertOrder = db.prepare('INSERT INTO orders VALUES (?, ?, ?, ?)');
db.transaction(() => {
  for (let id = 1; id <= 200; id += 1) {
    insertCustomer.run(id, `Customer ${id}`, ` Customer${id}@Example.COM `, countries[id % 5], (id * 7919) % 100000);
    for (let n = 0; n < 3; n += 1) {
      insertOrder.run(id * 3 + n, id, (id * 31 + n * 17) % 50000, `2026-0${1 + (n % 9)}-1${n}`);
    }
  }
})();
db.close();
console.log('legacy CRM seeded: 200 customers, 600 orders');
