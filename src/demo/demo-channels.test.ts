import { describe, expect, it } from 'vitest';
import { demoPartnerPort } from './demo-channels.ts';

describe('demoPartnerPort', () => {
  it('is the port after the dashboard, so the user stack and the test stack each have their own', () => {
    expect(demoPartnerPort({ monitoring: { dashboardPort: 18088 } } as Parameters<typeof demoPartnerPort>[0])).toBe(18089);
    expect(demoPartnerPort({ monitoring: { dashboardPort: 18188 } } as Parameters<typeof demoPartnerPort>[0])).toBe(18189);
  });

  it('is outside Linux ephemeral ports for the default configuration', () => {
    const port = demoPartnerPort({ monitoring: { dashboardPort: 18088 } } as Parameters<typeof demoPartnerPort>[0]);
    expect(port < 32_768 || port > 60_999).toBe(true);
  });

  it('lets the system pick one when the dashboard port is 0 (a free one) or the last port', () => {
    expect(demoPartnerPort({ monitoring: { dashboardPort: 0 } } as Parameters<typeof demoPartnerPort>[0])).toBe(0);
    expect(demoPartnerPort({ monitoring: { dashboardPort: 65_535 } } as Parameters<typeof demoPartnerPort>[0])).toBe(0);
  });
});
