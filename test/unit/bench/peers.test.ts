// A bench checks its peers before any work: one that is missing or does not run stops it at once,
// naming the binary and how to install it.
import { describe, expect, it } from 'vitest';
import { checkPeers, PeerMissing } from '../../../scripts/bench/common/peers';

describe('checkPeers', () => {
  it('refuses a peer that is not installed or cannot run, and says how to get it or skip it', async () => {
    await expect(checkPeers({ regsync: true, skopeo: false }, {})).rejects.toThrow(/regsync not found .*bash scripts\/setup.sh.*--skip-regsync/);
    await expect(checkPeers({ regsync: true, skopeo: false }, { regsync: '/nonexistent/regsync' })).rejects.toThrow(
      /cannot run \/nonexistent\/regsync: .*ENOENT/,
    );
    await expect(checkPeers({ regsync: false, skopeo: true }, { skopeo: '/bin/false' })).rejects.toBeInstanceOf(PeerMissing);
  });

  it('asks only for the peers the run needs, and reports their version line', async () => {
    expect(await checkPeers({ regsync: false, skopeo: false }, {})).toEqual({});
    const peers = await checkPeers({ regsync: true, skopeo: false }, { regsync: '/bin/echo' });
    expect(peers).toEqual({ regsync: { bin: '/bin/echo', version: 'version' } });
  });
});
