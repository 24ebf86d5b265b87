// Credentials handed in per host, for tests that aim a client at a proxy in front of a registry
// (the proxy's host:port has no entry in the stack's Docker config).
import { normaliseServer, type Credential, type CredentialStore } from '../../lib/oci';

export class StaticCredentialStore implements CredentialStore {
  private readonly byHost: Map<string, Credential>;

  constructor(entries: Record<string, Credential>) {
    this.byHost = new Map(Object.entries(entries).map(([k, v]) => [normaliseServer(k), v]));
  }

  async get(host: string): Promise<Credential | undefined> {
    return this.byHost.get(normaliseServer(host));
  }
}
