// A real OpenID provider for the SSO tests: oidc-provider with its dev login form.
// Env: PORT, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, ACCOUNTS_FILE (JSON: {login: {groups: [...]}},
// read on every request so a test can change someone's groups between logins).
import fs from 'node:fs';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const accountsFile = process.env.ACCOUNTS_FILE;

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: process.env.CLIENT_ID,
    client_secret: process.env.CLIENT_SECRET,
    redirect_uris: [process.env.REDIRECT_URI],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
  }],
  claims: { openid: ['sub'], email: ['email'], profile: ['preferred_username'], groups: ['groups'] },
  scopes: ['openid', 'email', 'profile', 'groups'],
  async findAccount(ctx, id) {
    const accounts = JSON.parse(fs.readFileSync(accountsFile, 'utf8'));
    if (!accounts[id]) return undefined;
    return {
      accountId: id,
      async claims() {
        const current = JSON.parse(fs.readFileSync(accountsFile, 'utf8'))[id] || {};
        return { sub: id, preferred_username: id, email: `${id}@bank.test`, groups: current.groups || [] };
      },
    };
  },
  features: { devInteractions: { enabled: true } },
});
provider.proxy = false;
provider.listen(port, '127.0.0.1', () => { console.log(`listening ${port}`); });
