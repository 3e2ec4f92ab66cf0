// A real OpenID Connect provider for the test suite: panva's oidc-provider (the certified reference
// implementation) with its development login and consent pages. Never used outside tests.
//
//   node provider.mjs PORT [HOST]     # users and their groups come from OIDC_TEST_USERS (JSON)
//
// Prints "ready <issuer>" once it listens on 127.0.0.1:PORT. HOST (default 127.0.0.1) names it in the issuer:
// "localhost" makes the provider another site than a Wegwijzer on 127.0.0.1, as a real one is. The client "wegwijzer" (secret
// "wegwijzer-test-secret") is a native-type client, so its loopback redirect URIs match on any port
// (RFC 8252 section 7.3): each test server picks a free one. PKCE is required for it.
import Provider from 'oidc-provider';

const port = Number(process.argv[2] || 0);
const issuer = `http://${process.argv[3] || '127.0.0.1'}:${port}`;
const users = JSON.parse(process.env.OIDC_TEST_USERS || '{}');

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'wegwijzer',
    client_secret: 'wegwijzer-test-secret',
    application_type: 'native',
    redirect_uris: ['http://127.0.0.1/beheer/aanmelden/terug'],
    post_logout_redirect_uris: ['http://127.0.0.1/beheer'],
    grant_types: ['authorization_code'],
    response_types: ['code'],
  }],
  pkce: { required: () => true },
  // Keycloak's "groups" mapper and Entra ID's groups claim both put the groups in a list claim.
  claims: { openid: ['sub'], profile: ['name', 'preferred_username', 'groups'], email: ['email'] },
  async findAccount(ctx, id) {
    const user = users[id];
    if (!user) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, name: user.name || id, preferred_username: id, email: `${id}@stad.test`,
                 groups: user.groups || [] };
      },
    };
  },
  cookies: { keys: ['wegwijzer-test-only'] },
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  ttl: { Session: 3600, Interaction: 600, Grant: 3600, AccessToken: 600, IdToken: 600, AuthorizationCode: 60 },
});
provider.proxy = false;

const server = provider.listen(port, '127.0.0.1', () => {
  process.stdout.write(`ready ${issuer}\n`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
