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
const { n } = crm.prepare(`SELECT COUNT(*) AS n FROM ${what}`).get();
crm.close();
console.log(`migrated ${n} ${what}`);
