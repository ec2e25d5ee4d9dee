import type { FastifyReply } from 'fastify';

const html = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * Pages a person sees: never framed (clickjacking), never cached, no scripts, and no CORS
 * headers, so other origins can neither embed nor read them (checklist A11).
 */
function send(reply: FastifyReply, status: number, title: string, body: string) {
  return reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header(
      'content-security-policy',
      "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    )
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer')
    .send(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${html(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:16px system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}
label,input,button{display:block;margin:.4rem 0}input{width:100%;padding:.4rem}
button{padding:.5rem 1.2rem;margin-right:.5rem;display:inline-block}.error{color:#a00}</style>
</head><body><h1>${html(title)}</h1>
${body}
</body></html>
`);
}

interface FormState {
  request: string;
  csrf: string;
}

const hidden = (f: FormState) =>
  `<input type="hidden" name="request" value="${html(f.request)}">
<input type="hidden" name="csrf" value="${html(f.csrf)}">`;

export function loginPage(
  reply: FastifyReply,
  f: FormState & { clientName: string; error?: string; status?: number },
) {
  return send(
    reply,
    f.status ?? 200,
    'Sign in',
    `<p>to continue to <strong>${html(f.clientName)}</strong></p>
${f.error ? `<p class="error" role="alert">${html(f.error)}</p>` : ''}
<form method="post" action="/login">
${hidden(f)}
<label for="username">Username</label><input id="username" name="username" autocomplete="username" required>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>`,
  );
}

export function consentPage(
  reply: FastifyReply,
  f: FormState & { clientName: string; redirectHost: string; scopes: string[]; username: string },
) {
  const scopes = f.scopes.map((s) => `<li><code>${html(s)}</code></li>`).join('');
  return send(
    reply,
    200,
    'Allow access?',
    `<p>Signed in as <strong>${html(f.username)}</strong>.</p>
<p><strong id="client">${html(f.clientName)}</strong> wants to access your account with these scopes:</p>
<ul id="scopes">${scopes}</ul>
<p>You will be sent back to <strong id="redirect-host">${html(f.redirectHost)}</strong>.</p>
<form method="post" action="/consent">
${hidden(f)}
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>`,
  );
}

/** An error the user must see here, because sending it to the client could not be trusted (A5, A6). */
export function errorPage(
  reply: FastifyReply,
  status: number,
  message: string,
  headers: Record<string, string> = {},
) {
  for (const [k, v] of Object.entries(headers)) reply.header(k, v);
  return send(
    reply,
    status,
    'This request cannot continue',
    `<p class="error" role="alert">${html(message)}</p>
<p>Go back to the application and start again.</p>`,
  );
}
