import type pg from 'pg';
import { formatMoney } from '../domain/money.ts';
import type { Tier } from '../domain/rules.ts';
import { pick, pickWeighted, randomInt, type Random } from './random.ts';

/** Most customers are new or bronze, a few platinum: the skew a loyalty programme shows. */
export const TIER_WEIGHTS: Readonly<Record<Tier, number>> = Object.freeze({ NEW: 0.35, BRONZE: 0.3, SILVER: 0.2, GOLD: 0.11, PLATINUM: 0.04 });

interface CategorySpec {
  readonly name: string;
  /** Whole-unit price range, drawn log-uniformly (many cheap items, fewer dear ones). */
  readonly minPrice: number;
  readonly maxPrice: number;
  readonly nouns: readonly string[];
}

/** Every ordinary price stays under 1 500.00 (see REGULAR_PRICE_LIMIT_CENTS in workload.ts). */
const CATEGORIES: readonly CategorySpec[] = [
  { name: 'electronics', minPrice: 15, maxPrice: 900, nouns: ['Headphones', 'Charger', 'Keyboard', 'Monitor', 'Tablet', 'Speaker', 'Router', 'Smartwatch'] },
  { name: 'groceries', minPrice: 1, maxPrice: 40, nouns: ['Coffee Beans', 'Olive Oil', 'Basmati Rice', 'Dark Chocolate', 'Green Tea', 'Pasta', 'Honey', 'Granola'] },
  { name: 'books', minPrice: 6, maxPrice: 90, nouns: ['Novel', 'Cookbook', 'Atlas', 'Biography', 'Field Guide', 'Poetry Collection', 'Textbook'] },
  { name: 'clothing', minPrice: 8, maxPrice: 250, nouns: ['Jacket', 'Sneakers', 'T-Shirt', 'Jeans', 'Scarf', 'Raincoat'] },
  { name: 'home', minPrice: 5, maxPrice: 600, nouns: ['Lamp', 'Blender', 'Rug', 'Cookware Set', 'Desk Chair', 'Bookshelf'] },
  { name: 'toys', minPrice: 4, maxPrice: 150, nouns: ['Puzzle', 'Building Set', 'Plush Bear', 'Board Game', 'Kite'] },
  { name: 'sports', minPrice: 10, maxPrice: 700, nouns: ['Yoga Mat', 'Tennis Racket', 'Running Shoes', 'Bicycle', 'Dumbbells'] },
  { name: 'beauty', minPrice: 3, maxPrice: 120, nouns: ['Face Cream', 'Shampoo', 'Perfume', 'Lip Balm', 'Hair Dryer'] },
];

/** A few big-ticket products (2 400.00 and up) that large orders buy, so fraud HIGH alerts occur. */
const PREMIUM: readonly { readonly category: string; readonly noun: string; readonly minPrice: number; readonly maxPrice: number }[] = [
  { category: 'electronics', noun: 'Pro Workstation', minPrice: 3_000, maxPrice: 6_000 },
  { category: 'electronics', noun: 'OLED TV 83"', minPrice: 2_500, maxPrice: 4_500 },
  { category: 'electronics', noun: 'Cinema Camera Kit', minPrice: 2_400, maxPrice: 5_500 },
  { category: 'home', noun: 'Designer Sofa', minPrice: 2_400, maxPrice: 4_000 },
  { category: 'sports', noun: 'Carbon Road Bike', minPrice: 2_800, maxPrice: 5_000 },
  { category: 'jewelry', noun: 'Diamond Necklace', minPrice: 3_500, maxPrice: 6_000 },
];

const BRANDS = ['Acme', 'Nordwind', 'Zephyr', 'Orbit', 'Lumen', 'Cobalt', 'Juniper', 'Vertex', 'Harbor', 'Sable'];
const FIRST_NAMES = ['Ada', 'Bruno', 'Chen', 'Dara', 'Elif', 'Femi', 'Greta', 'Hugo', 'Ines', 'Jonas', 'Kaito', 'Lena', 'Mateo', 'Nia', 'Omar', 'Priya', 'Quinn', 'Rosa', 'Sven', 'Tariq', 'Uma', 'Viktor', 'Wen', 'Yara', 'Zoe'];
const LAST_NAMES = ['Almeida', 'Becker', 'Castro', 'Dubois', 'Eriksen', 'Fischer', 'Garcia', 'Horvat', 'Ito', 'Jensen', 'Kowalski', 'Larsen', 'Moreau', 'Nakamura', 'Okafor', 'Petrov', 'Rossi', 'Silva', 'Tanaka', 'Novak', 'Weber', 'Yilmaz'];

export interface SeedOptions {
  readonly customers: number;
  readonly products: number;
  readonly random: Random;
}

export interface SeedResult {
  /** Rows inserted now; 0 when the table already had rows. */
  readonly customers: number;
  readonly products: number;
}

export interface SeedProduct {
  readonly name: string;
  readonly category: string;
  /** Exact two-place decimal. */
  readonly price: string;
}

export interface SeedCustomer {
  readonly name: string;
  readonly tier: Tier;
}

/** The demo catalogue: ordinary products spread evenly over the categories plus the premium few; deterministic for a given random. */
export function generateProducts(count: number, random: Random): SeedProduct[] {
  const products: SeedProduct[] = [];
  const premium = PREMIUM.slice(0, Math.min(PREMIUM.length, Math.max(1, Math.round(count * 0.03))));
  const ordinary = Math.max(0, count - premium.length);
  for (let i = 0; i < ordinary; i += 1) {
    const category = CATEGORIES[i % CATEGORIES.length] as CategorySpec;
    const name = `${pick(random, BRANDS)} ${pick(random, category.nouns)} ${randomInt(random, 10, 99)}`;
    products.push({ name, category: category.name, price: formatMoney(priceCents(random, category.minPrice, category.maxPrice)) });
  }
  for (const spec of premium) {
    products.push({ name: `${pick(random, BRANDS)} ${spec.noun}`, category: spec.category, price: formatMoney(priceCents(random, spec.minPrice, spec.maxPrice)) });
  }
  return products;
}

/** Customers with generated names and tiers drawn from TIER_WEIGHTS; deterministic for a given random. */
export function generateCustomers(count: number, random: Random): SeedCustomer[] {
  const customers: SeedCustomer[] = [];
  for (let i = 0; i < count; i += 1) {
    customers.push({ name: `${pick(random, FIRST_NAMES)} ${pick(random, LAST_NAMES)}`, tier: pickWeighted(random, TIER_WEIGHTS) });
  }
  return customers;
}

/** Log-uniform whole units with a shop's .99/.49/.00 endings, in exact cents. */
function priceCents(random: Random, minUnits: number, maxUnits: number): number {
  const units = Math.floor(Math.exp(Math.log(minUnits) + random() * (Math.log(maxUnits) - Math.log(minUnits))));
  const ending = pick(random, [99, 99, 49, 0]);
  return Math.max(1, (units - (ending === 0 ? 0 : 1)) * 100 + ending);
}

const SEED_LOCK = 'stream-migrate:seed-demo-source';
const CHUNK = 10_000;

/**
 * Fills the demo source's customers and products when they are empty; a table that already has
 * rows is left alone, so running it again (or from two commands at once, under an advisory lock)
 * changes nothing. Rows go in as multi-row INSERT ... SELECT FROM unnest(...), in chunks.
 */
export async function seedDemoSource(pool: pg.Pool, options: SeedOptions): Promise<SeedResult> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [SEED_LOCK]);
    const { rows } = await client.query<{ customers: boolean; products: boolean }>(
      'SELECT EXISTS (SELECT 1 FROM public.customers) AS customers, EXISTS (SELECT 1 FROM public.products) AS products',
    );
    const has = rows[0] ?? { customers: true, products: true };
    // Products first, so the catalogue is the same for a seed whether or not customers existed.
    const products = has.products ? [] : generateProducts(options.products, options.random);
    const customers = has.customers ? [] : generateCustomers(options.customers, options.random);
    for (let i = 0; i < products.length; i += CHUNK) {
      const chunk = products.slice(i, i + CHUNK);
      await client.query('INSERT INTO public.products (name, category, price) SELECT * FROM unnest($1::text[], $2::text[], $3::numeric[])', [
        chunk.map((p) => p.name),
        chunk.map((p) => p.category),
        chunk.map((p) => p.price),
      ]);
    }
    for (let i = 0; i < customers.length; i += CHUNK) {
      const chunk = customers.slice(i, i + CHUNK);
      await client.query('INSERT INTO public.customers (name, tier) SELECT * FROM unnest($1::text[], $2::text[])', [
        chunk.map((c) => c.name),
        chunk.map((c) => c.tier),
      ]);
    }
    await client.query('COMMIT');
    return { customers: customers.length, products: products.length };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
