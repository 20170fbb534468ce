// The embedded target's HTML pages for browser workflows: a small shop under /app/ with a
// list, an item page, a search form answered in the page, and a late banner that shifts the
// layout (so CLS is above zero). Owns these routes only; static strings, no state.
import type { IncomingMessage, ServerResponse } from 'node:http';

const STYLE = `body{font-family:sans-serif;margin:0}header{background:#234;color:#fff;padding:16px}
main{padding:16px}.hero{height:320px;background:linear-gradient(90deg,#fa5,#c33);color:#fff;
font-size:40px;display:flex;align-items:center;justify-content:center}ul{line-height:2}`;

const ITEMS = [
  { id: 1, name: 'alpha', price: 9.99 },
  { id: 2, name: 'beta', price: 19.5 },
  { id: 3, name: 'gamma', price: 0 },
] as const;

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><style>${STYLE}</style></head>
<body><header><a href="/app/" style="color:#fff">salvo shop</a></header><main>${body}</main></body></html>`;
}

const HOME = page(
  'salvo shop',
  `<div id="banner-slot"></div>
<div class="hero" id="hero">Everything on sale</div>
<h1>Items</h1>
<ul id="items">${ITEMS.map((i) => `<li><a href="/app/item/${i.id}">${i.name}</a> ${i.price}</li>`).join('')}</ul>
<form id="search" action="#" onsubmit="return false">
<input id="q" name="q" placeholder="search"><button id="go" type="submit">Search</button></form>
<p id="result"></p>
<script>
document.getElementById('search').addEventListener('submit', () => {
  const q = document.getElementById('q').value.trim().toLowerCase();
  const found = ${JSON.stringify(ITEMS.map((i) => i.name))}.filter((n) => n.includes(q));
  document.getElementById('result').textContent = found.length + ' found: ' + found.join(', ');
});
// A late banner pushes the painted content down: a layout shift.
addEventListener('load', () => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(() => {
  const b = document.createElement('div');
  b.id = 'banner';
  b.style.cssText = 'height:80px;background:#ffd;padding:8px';
  b.textContent = 'Free shipping today';
  document.getElementById('banner-slot').appendChild(b);
}, 100))));
</script>`,
);

function itemPage(id: number): string | undefined {
  const item = ITEMS.find((i) => i.id === id);
  if (item === undefined) return undefined;
  return page(
    `${item.name} · salvo shop`,
    `<h1 id="name">${item.name}</h1><p id="price">${item.price}</p>
<button id="add" onclick="document.getElementById('cart').textContent='in cart: ${item.name}'">Add to cart</button>
<p id="cart"></p>`,
  );
}

function html(res: ServerResponse, status: number, body: string): void {
  const bytes = Buffer.from(body);
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': bytes.length,
  });
  res.end(bytes);
}

/** Serves `/app/` and `/app/item/:id`; false for any other path. */
export function pageRoute(path: string, _req: IncomingMessage, res: ServerResponse): boolean {
  if (path === '/app' || path === '/app/') {
    html(res, 200, HOME);
    return true;
  }
  const m = /^\/app\/item\/(\d{1,6})$/.exec(path);
  if (m === null) return false;
  const body = itemPage(Number(m[1]));
  if (body === undefined) html(res, 404, page('not found', '<h1>no such item</h1>'));
  else html(res, 200, body);
  return true;
}

/** The pages, for the route list `salvo serve` prints. */
export const PAGE_ROUTES = [
  { method: 'GET', path: '/app/', description: 'HTML shop page (list, search form, late banner)' },
  { method: 'GET', path: '/app/item/:id', description: 'HTML item page (1–3) with a button' },
] as const;
