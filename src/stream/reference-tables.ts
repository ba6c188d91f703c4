import type { CustomerRow, ProductRow } from '../domain/process-order.ts';
import type { RowChange } from './cdc-decode.ts';
import type { ReferenceTables } from './order-state.ts';

/** Customers and products held in full by every worker, as the latest version of each row. */
export class InMemoryTables implements ReferenceTables {
  private readonly customers = new Map<number, CustomerRow>();
  private readonly products = new Map<number, ProductRow>();

  customer(id: number): CustomerRow | undefined {
    return this.customers.get(id);
  }

  product(id: number): ProductRow | undefined {
    return this.products.get(id);
  }

  get counts(): { readonly customers: number; readonly products: number } {
    return { customers: this.customers.size, products: this.products.size };
  }

  /** Applies a change; true when the join-relevant part (tier, or when it last changed: escalation) changed, so orders need recomputing. */
  applyCustomer(change: RowChange<CustomerRow>): boolean {
    const id = change.kind === 'upsert' ? change.row.id : change.id;
    const before = this.customers.get(id);
    if (change.kind === 'delete') return this.customers.delete(id);
    this.customers.set(id, change.row);
    return before?.tier !== change.row.tier || (before.tierChangedAt ?? null) !== (change.row.tierChangedAt ?? null);
  }

  applyProduct(change: RowChange<ProductRow>): boolean {
    const id = change.kind === 'upsert' ? change.row.id : change.id;
    const before = this.products.get(id);
    if (change.kind === 'delete') return this.products.delete(id);
    this.products.set(id, change.row);
    return before?.category !== change.row.category;
  }
}
