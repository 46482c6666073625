// The migration: copies legacy customers (or orders) into the new CRM's database, normalising
// e-mail addresses on the way. Usage: node scripts/migrate.mjs customers|orders
import { mkdirSync } from 'node:fs';
import Database from 'better-sqlite3';

const what = process.argv[2];
if (what !== 'customers' && what !== 'orders') {
  console.error('usage: migrate.mjs customers|orders');
  process.exit(2);
}
mkdirSync('data', { recursive: true });
const crm = new Database('data/crm.db');
crm.pragma('busy_timeout = 5000');
crm.exec(`ATTACH DATABASE 'data/legacy.db' AS legacy`);
if (what === 'customers') {
  crm.exec(`
    CREATE TABLE IF NOT EXISTS customers (id INTEGER PRIMARY KEY, name TEXT, email TEXT, country TEXT, balance_cents INTEGER);
    DELETE FROM customers;
    INSERT INTO customers SELECT id, name, lower(trim(email)), country, balance_cents FROM legacy.customers;
  `);
} else {
  crm.exec(`
    CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY, customer_id INTEGER, total_cents INTEGER, placed_on TEXT);
    DELETE FROM orders;
    INSERT INTO orders SELECT * FROM legacy.orders;
  `);
}
// Back-out drill: SAMPLE_CORRUPT=1 makes the migration get one customer wrong, so the
// reconciliation fails and the rehearsal backs out.
if (what === 'customers' && process.env.SAMPLE_CORRUPT === '1') {
  crm.exec(`UPDATE customers SET country = 'XX' WHERE id = 70`);
}
// When each table was last loaded: the customers report's data time, whose freshness hypercare checks.
crm.exec(`CREATE TABLE IF NOT EXISTS loads (what TEXT PRIMARY KEY, loaded_at TEXT NOT NULL)`);
crm.prepare(`INSERT OR REPLACE INTO loads VALUES (?, ?)`).run(what, new Date().toISOString());
const { n } = crm.prepare(`SELECT COUNT(*) AS n FROM ${what}`).get();
crm.close();
console.log(`migrated ${n} ${what}`);
