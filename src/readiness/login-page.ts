/**
 * The form /cutover shows a browser that has no session yet (src/app/cutover-session.ts). Static: it never
 * contains the token or anything the request sent, so it needs no escaping and is the same for everyone.
 */
export const LOGIN_PAGE_STYLE = 'body{font:15px/1.45 system-ui,sans-serif;margin:3rem auto;max-width:26rem;color:#101828}'
  + 'input,button{font:inherit;padding:.45rem .6rem;border:1px solid #d0d5dd;border-radius:.4rem}input{width:100%;box-sizing:border-box}'
  + 'button{margin-top:.8rem;background:#101828;color:#fff}.bad{color:#b42318}';

export function renderLoginPage({ failed }: { readonly failed: boolean }): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Codat cutover: sign in</title>
<style>${LOGIN_PAGE_STYLE}</style></head>
<body>
<h1>Codat cutover</h1>
<p>This service has an operator token (<code>ADMIN_TOKEN</code>). Enter it to open the cutover page in this browser; a cookie
keeps you in for 12 hours (only for this page).</p>
${failed ? '<p class="bad" id="login-failed">That is not the operator token.</p>' : ''}
<form method="post" action="/cutover/login">
<label for="token">Operator token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Open the cutover page</button>
</form>
</body></html>`;
}
