/**
 * The one <style> element of each page the service serves to a browser, as constants, so that a
 * Content-Security-Policy can allow exactly them by hash (`style-src 'sha256-…'`) instead of 'unsafe-inline'.
 * The pages have no script and load nothing from elsewhere; their charts are inline SVG with presentation
 * attributes, which style-src does not govern.
 */
import { createHash } from 'node:crypto';
import { LOGIN_PAGE_STYLE } from './login-page.js';

export const CUTOVER_PAGE_STYLE = [
  'body{font:15px/1.45 system-ui,sans-serif;margin:2rem;color:#101828;max-width:76rem}',
  '.verdict{border-radius:.5rem;padding:1rem 1.25rem;color:#fff;background:#b42318}',
  '.v-ready-to-flip,.v-ready-to-contract{background:#027a48}.v-flipped{background:#b54708}.v-contracted{background:#1d4ed8}',
  '.verdict h1{margin:0;font-size:1.6rem}.verdict p{margin:.4rem 0 0;font-size:1.05rem}',
  '.facts{display:flex;gap:1rem;margin:1.25rem 0;flex-wrap:wrap}.fact{border:1px solid #d0d5dd;border-radius:.5rem;padding:.6rem .9rem;min-width:9rem;max-width:16rem}',
  '.fact b{display:block;font-size:1.35rem}.fact span{color:#475467;font-size:.85rem}',
  'h2{font-size:1.1rem;margin:1.5rem 0 .5rem}h3{font-size:1rem;margin:1rem 0 .4rem}ul{margin:.25rem 0;padding-left:1.25rem}li{margin:.2rem 0}',
  '.blockers li{color:#b42318}table{border-collapse:collapse;width:100%;font-size:.9rem}',
  'th,td{border-bottom:1px solid #eaecf0;padding:.35rem .5rem;text-align:left}th{background:#f9fafb}',
  'td.n{text-align:right;font-variant-numeric:tabular-nums}td.warn{color:#b54708}td.bad,b.bad{color:#b42318;font-weight:600}td.na{color:#667085}',
  '.charts{display:flex;gap:1rem;flex-wrap:wrap}figure{margin:0;border:1px solid #eaecf0;border-radius:.5rem;padding:.5rem}',
  'figcaption{font-size:.85rem;color:#475467;margin-bottom:.25rem}svg{display:block}',
  'footer{margin-top:1.5rem;color:#667085;font-size:.8rem}',
].join('');

const hashOf = (style: string) => `'sha256-${createHash('sha256').update(style, 'utf8').digest('base64')}'`;

/** The `style-src` sources that allow the pages' <style> elements (the cutover page and its login form). */
export function pageStyleSources(): string[] {
  return [hashOf(CUTOVER_PAGE_STYLE), hashOf(LOGIN_PAGE_STYLE)];
}

/**
 * The Content-Security-Policy of every page served to a browser (the report and its sign-in form): nothing
 * loaded, no script, only these stylesheets, forms posting only back here, no framing.
 */
export function pageSecurityPolicy(): string {
  return `default-src 'none'; style-src ${pageStyleSources().join(' ')}; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`;
}
