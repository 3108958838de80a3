'use strict';
/*
 * dspace-deploy test look-alike of dspace-angular's dist/server/main.js (not dspace-angular code).
 * Plain Node.js, no dependencies. Behaviour follows the release contract, sections 8.2, 8.3 and 11:
 *  - reads config/config.yml, then config/config.<env>.yml, then $DSPACE_APP_CONFIG_PATH,
 *    then DSPACE_* environment variables; computes empty baseUrls;
 *  - writes dist/browser/assets/config.json; releases with the hashed file mapping (8.4, 9.3, 10.0)
 *    also write assets/config.<md5>.json, <theme>-theme.<md5>.css (+ .br/.gz copies) and rewrite
 *    dist/browser/index.html at every start, so dist/browser must be writable;
 *  - listens on ui.host:ui.port and prints "Listening at <ui.baseUrl>";
 *  - /app/health proxies <rest.ssrBaseUrl or rest.baseUrl>/actuator/health (8.0: no ssrBaseUrl);
 *  - 9+: server-side rendering only for requests whose Host matches ui.baseUrl's hostname;
 *  - server-side rendering of a page makes the REST calls the real UI makes for its home page,
 *    following the REST root's links: a root without one of those links hangs the request (as
 *    the real one does), an unreachable or failing REST API answers 500 "Service unavailable".
 * YAML support: the block subset used by DSpace UI configs (nested maps, scalars, lists of scalars
 * and of maps, flow lists/maps of scalars, comments). Anchors and multi-line scalars are refused.
 */
const fs = require('fs');
const path = require('path');
const http = require('http');
const https = require('https');
const crypto = require('crypto');

const UI_VERSION = '@@UI_VERSION@@';
const UI_NAME = '@@UI_NAME@@';
const SSR_KEY = '@@SSR_KEY@@';              // 'ssr' (8+) or 'universal' (7.6)
const SSR_HOST_CHECK = '@@SSR_HOST_CHECK@@' === 'true';   // 9+
const SSR_BASE_URL = '@@SSR_BASE_URL@@' === 'true';       // rest.ssrBaseUrl exists from 8.1
const HASHED_FILES = '@@HASHED_FILES@@' === 'true';       // hashed file mapping: 8.4, 9.3, 10.0
const REST_TIMEOUT_MS = 30000;

const APP_ROOT = process.cwd();
const CONFIG_DIR = path.join(APP_ROOT, 'config');
const BROWSER_DIR = path.join(APP_ROOT, 'dist', 'browser');

// ------------------------------------------------------------------------------------------ YAML

function parseScalar(raw) {
  let s = raw.trim();
  if (s === '' || s === '~' || s === 'null' || s === 'Null' || s === 'NULL') { return null; }
  if ((s.startsWith('"') && s.endsWith('"')) && s.length >= 2) {
    return JSON.parse(s);
  }
  if (s.startsWith("'") && s.endsWith("'") && s.length >= 2) {
    return s.slice(1, -1).replace(/''/g, "'");
  }
  if (s.startsWith('[') && s.endsWith(']')) {
    const inner = s.slice(1, -1).trim();
    if (inner === '') { return []; }
    return splitFlow(inner).map(parseScalar);
  }
  if (s.startsWith('{') && s.endsWith('}')) {
    const inner = s.slice(1, -1).trim();
    const out = {};
    if (inner === '') { return out; }
    for (const part of splitFlow(inner)) {
      const i = part.indexOf(':');
      out[part.slice(0, i).trim().replace(/^["']|["']$/g, '')] = parseScalar(part.slice(i + 1));
    }
    return out;
  }
  if (s.startsWith('|') || s.startsWith('>') || s.startsWith('&') || s.startsWith('*') || s.startsWith('!')) {
    throw new Error('YAML feature not supported by the look-alike UI server: ' + s);
  }
  if (/^(true|True|TRUE)$/.test(s)) { return true; }
  if (/^(false|False|FALSE)$/.test(s)) { return false; }
  if (/^[-+]?\d+$/.test(s)) { return parseInt(s, 10); }
  if (/^[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$/.test(s)) { return parseFloat(s); }
  return s;
}

function splitFlow(s) {
  const parts = [];
  let depth = 0; let quote = null; let cur = '';
  for (const c of s) {
    if (quote) { cur += c; if (c === quote) { quote = null; } continue; }
    if (c === '"' || c === "'") { quote = c; cur += c; continue; }
    if (c === '[' || c === '{') { depth++; }
    if (c === ']' || c === '}') { depth--; }
    if (c === ',' && depth === 0) { parts.push(cur); cur = ''; continue; }
    cur += c;
  }
  if (cur.trim() !== '') { parts.push(cur); }
  return parts;
}

function stripComment(line) {
  let quote = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) { if (c === quote) { quote = null; } continue; }
    if (c === '"' || c === "'") { quote = c; continue; }
    if (c === '#' && (i === 0 || /\s/.test(line[i - 1]))) { return line.slice(0, i); }
  }
  return line;
}

function parseYaml(text) {
  const lines = [];
  for (const raw of text.split(/\r?\n/)) {
    if (raw.trim() === '---') { continue; }
    const l = stripComment(raw).replace(/\s+$/, '');
    if (l.trim() === '') { continue; }
    if (/^\t/.test(l)) { throw new Error('Tabs are not allowed for YAML indentation'); }
    lines.push({ indent: l.length - l.trimStart().length, text: l.trim() });
  }
  let pos = 0;
  function keyValue(t) {
    const m = /^("[^"]*"|'[^']*'|[^:]+?)\s*:(\s+(.*))?$/.exec(t);
    if (!m) { return null; }
    return { key: m[1].replace(/^["']|["']$/g, ''), rest: m[3] === undefined ? '' : m[3] };
  }
  function parseBlock(indent) {
    if (pos >= lines.length) { return null; }
    if (lines[pos].text.startsWith('- ') || lines[pos].text === '-') { return parseList(lines[pos].indent); }
    return parseMap(indent);
  }
  function parseMap(indent) {
    const out = {};
    while (pos < lines.length && lines[pos].indent === indent && !lines[pos].text.startsWith('- ')) {
      const kv = keyValue(lines[pos].text);
      if (!kv) { throw new Error('Cannot parse YAML line: ' + lines[pos].text); }
      pos++;
      if (kv.rest === '') {
        if (pos < lines.length && (lines[pos].indent > indent ||
            (lines[pos].indent === indent && lines[pos].text.startsWith('- ')))) {
          out[kv.key] = parseBlock(lines[pos].indent);
        } else {
          out[kv.key] = null;
        }
      } else {
        out[kv.key] = parseScalar(kv.rest);
      }
    }
    return out;
  }
  function parseList(indent) {
    const out = [];
    while (pos < lines.length && lines[pos].indent === indent &&
           (lines[pos].text.startsWith('- ') || lines[pos].text === '-')) {
      const item = lines[pos].text === '-' ? '' : lines[pos].text.slice(2).trim();
      const kv = item.startsWith('"') || item.startsWith("'") ? null : keyValue(item);
      if (kv) {
        // a map item: its first key sits on the dash line, the others at indent + 2
        const childIndent = indent + 2;
        lines[pos] = { indent: childIndent, text: item };
        out.push(parseMap(childIndent));
      } else if (item === '') {
        pos++;
        out.push(pos < lines.length && lines[pos].indent > indent ? parseBlock(lines[pos].indent) : null);
      } else {
        pos++;
        out.push(parseScalar(item));
      }
    }
    return out;
  }
  if (lines.length === 0) { return {}; }
  const result = parseBlock(lines[0].indent);
  if (pos < lines.length) { throw new Error('Cannot parse YAML near: ' + lines[pos].text); }
  return result;
}

// ------------------------------------------------------------------------------------------ config

function log(msg) { console.log(msg); }

function isObject(v) { return v !== null && typeof v === 'object' && !Array.isArray(v); }

function merge(target, source) {
  if (!isObject(source)) { return target; }
  for (const [k, v] of Object.entries(source)) {
    if (isObject(v) && isObject(target[k])) { merge(target[k], v); } else { target[k] = v; }
  }
  return target;
}

function defaults() {
  const ssr = {
    enabled: true,
    inlineCriticalCss: false,
    transferState: true,
    replaceRestUrl: true,
    excludePathPatterns: [],
    enableSearchComponent: false,
    enableBrowseComponent: false,
  };
  if (SSR_KEY === 'ssr') { ssr.enablePerformanceProfiler = false; } else { ssr.preboot = true; delete ssr.enabled; }
  return {
    ui: {
      ssl: false, host: 'localhost', port: 4000, nameSpace: '/', baseUrl: 'http://localhost:4000',
      useProxies: true, rateLimiter: { windowMs: 60000, max: 500 },
    },
    rest: { ssl: false, host: 'localhost', port: 8080, nameSpace: '/' },
    actuators: { endpointPath: '/actuator/health' },
    cache: { msToLive: { default: 900000 }, serverSide: { botCache: { max: 1000 } } },
    defaultLanguage: 'en',
    languages: [{ code: 'en', label: 'English', active: true }],
    themes: [{ name: 'dspace' }],
    [SSR_KEY]: ssr,
  };
}

function envName() {
  const e = (process.env.NODE_ENV || '').toLowerCase();
  if (e === 'development' || e === 'dev') { return ['dev', 'development']; }
  if (e === 'test') { return ['test']; }
  return ['prod', 'production'];
}

function readYamlFile(file) {
  return parseYaml(fs.readFileSync(file, 'utf8')) || {};
}

function firstExisting(names) {
  for (const n of names) {
    const p = path.join(CONFIG_DIR, n);
    if (fs.existsSync(p)) { return p; }
  }
  return null;
}

function applyEnv(config) {
  // DSPACE_<PATH>: only keys that already have a non-empty value are overridable
  function walk(obj, prefix) {
    for (const [k, v] of Object.entries(obj)) {
      const name = prefix + '_' + k.toUpperCase();
      if (isObject(v)) { walk(v, name); continue; }
      if (v === null || v === undefined || v === '' || Array.isArray(v)) { continue; }
      const envValue = process.env[name];
      if (envValue === undefined) { continue; }
      log(`Applying environment variable ${name} with value ${envValue}`);
      if (typeof v === 'number') { obj[k] = Number(envValue); } else if (typeof v === 'boolean') {
        obj[k] = envValue === 'true';
      } else { obj[k] = envValue; }
    }
  }
  walk(config, 'DSPACE');
  const legacy = [
    ['DSPACE_HOST', 'ui', 'host'], ['DSPACE_PORT', 'ui', 'port'], ['DSPACE_NAMESPACE', 'ui', 'nameSpace'],
    ['DSPACE_SSL', 'ui', 'ssl'], ['DSPACE_REST_HOST', 'rest', 'host'], ['DSPACE_REST_PORT', 'rest', 'port'],
    ['DSPACE_REST_NAMESPACE', 'rest', 'nameSpace'], ['DSPACE_REST_SSL', 'rest', 'ssl'],
  ];
  if (SSR_BASE_URL) { legacy.push(['DSPACE_REST_SSRBASEURL', 'rest', 'ssrBaseUrl']); }
  for (const [name, section, key] of legacy) {
    const v = process.env[name];
    if (v === undefined) { continue; }
    log(`Applying environment variable ${name} with value ${v}`);
    config[section][key] = key === 'port' ? Number(v) : key === 'ssl' ? v === 'true' : v;
  }
}

function computeBaseUrl(section) {
  if (section.baseUrl) { return; }
  const port = Number(section.port);
  let ns = section.nameSpace || '/';
  if (!ns.startsWith('/')) { ns = '/' + ns; }
  const showPort = !(port === 80 || port === 443);
  section.baseUrl = (section.ssl ? 'https://' : 'http://') + section.host + (showPort ? ':' + port : '') +
    (ns === '/' ? '' : ns);
}

function buildConfig() {
  log('Building production app config');
  const config = defaults();
  const main = firstExisting(['config.yml', 'config.yaml']);
  if (main) {
    merge(config, readYamlFile(main));
  }
  const env = envName();
  const candidates = [];
  for (const e of env) { candidates.push(`config.${e}.yml`, `config.${e}.yaml`); }
  const envFile = firstExisting(candidates);
  if (envFile) {
    log(`Overriding app config with ${envFile}`);
    merge(config, readYamlFile(envFile));
  } else {
    log(`Unable to find env config file at ${path.join(CONFIG_DIR, candidates[0])}`);
  }
  if (process.env.DSPACE_APP_CONFIG_PATH) {
    const p = process.env.DSPACE_APP_CONFIG_PATH;
    if (fs.existsSync(p)) {
      log(`Overriding app config with ${p}`);
      merge(config, readYamlFile(p));
    } else {
      log(`Unable to find external config file at ${p}`);
    }
  }
  applyEnv(config);
  computeBaseUrl(config.ui);
  computeBaseUrl(config.rest);
  const out = path.join(BROWSER_DIR, 'assets', 'config.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const content = JSON.stringify(config, null, 2);
  fs.writeFileSync(out, content);
  const mapping = HASHED_FILES ? new HashedFileMapping() : null;
  if (mapping) { mapping.add(out, content); }
  log(`Angular config.json file generated correctly at ${out}`);
  if (mapping) {
    for (const theme of config.themes || []) { mapping.addThemeStyle(theme.name, theme.prefetch !== false); }
    mapping.save();
  }
  log('Environment extended with app config');
  return config;
}

// The hashed file mapping of dspace-angular 8.4/9.3/10.0 (src/modules/dynamic-hash, server side):
// at every start the server writes a copy of each dynamic file named by the MD5 of its content
// (removing earlier copies), and records the mapping in index.html, which it rewrites in place.
class HashedFileMapping {
  constructor() { this.map = new Map(); this.prefetch = []; }

  add(file, content) {
    if (content === undefined) { content = fs.readFileSync(file).toString(); }
    const ext = path.extname(file);
    const stem = path.basename(file, ext);
    for (const name of fs.readdirSync(path.dirname(file))) {
      if (name.startsWith(stem + '.') && name.slice(stem.length + 1).includes(ext)) {
        fs.rmSync(path.join(path.dirname(file), name));
      }
    }
    const hash = crypto.createHash('md5').update(content).digest('hex');
    const hashed = file.slice(0, -ext.length) + '.' + hash + ext;
    this.map.set(file, hashed);
    fs.writeFileSync(hashed, content);
    return hashed;
  }

  addThemeStyle(theme, prefetch) {
    const file = path.join(BROWSER_DIR, `${theme}-theme.css`);
    const hashed = this.add(file);
    if (prefetch) { this.prefetch.push(hashed); }
    for (const c of ['.br', '.gz']) {
      if (fs.existsSync(file + c) && !fs.existsSync(hashed + c)) { fs.copyFileSync(file + c, hashed + c); }
    }
  }

  save() {
    const index = path.join(BROWSER_DIR, 'index.html');
    const out = {};
    for (const [plain, hashed] of this.map) {
      out[path.relative(BROWSER_DIR, plain)] = path.relative(BROWSER_DIR, hashed);
    }
    let html = fs.readFileSync(index, 'utf8')
      .replace(/<script id="hashed-file-mapping"[^>]*>[\s\S]*?<\/script>/g, '')
      .replace(/<link [^>]*class="hfm"[^>]*>/g, '');
    const links = this.prefetch.map((f) =>
      `<link rel="prefetch" as="style" href="${path.relative(BROWSER_DIR, f)}" class="hfm">`).join('');
    html = html.replace('</head>',
      `<script id="hashed-file-mapping" type="application/json">${JSON.stringify(out)}</script>${links}</head>`);
    fs.writeFileSync(index, html);
  }
}

// ------------------------------------------------------------------------------------------ server

const TYPES = {
  '.html': 'text/html; charset=UTF-8', '.js': 'text/javascript; charset=UTF-8', '.css': 'text/css; charset=UTF-8',
  '.json': 'application/json; charset=UTF-8', '.json5': 'application/json; charset=UTF-8', '.svg': 'image/svg+xml',
  '.png': 'image/png', '.ico': 'image/x-icon', '.txt': 'text/plain; charset=UTF-8', '.xml': 'application/xml',
};

function restBase(config) {
  return ((SSR_BASE_URL && config.rest.ssrBaseUrl) || config.rest.baseUrl).replace(/\/$/, '');
}

function fetchUrl(url, timeoutMs) {
  return new Promise((resolve, reject) => {
    const mod = url.startsWith('https:') ? https : http;
    const req = mod.get(url, { timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers,
        body: Buffer.concat(chunks) }));
    });
    req.on('timeout', () => { req.destroy(new Error('timeout')); });
    req.on('error', reject);
  });
}

function send(res, status, type, body) {
  res.writeHead(status, { 'Content-Type': type });
  res.end(body);
}

function shell() {
  return fs.readFileSync(path.join(BROWSER_DIR, 'index.html'), 'utf8');
}

async function render(req, res, config) {
  const host = (req.headers.host || '').replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  const allowed = new URL(config.ui.baseUrl).hostname;
  const ssrConf = config[SSR_KEY] || {};
  if (SSR_KEY === 'ssr' && ssrConf.enabled === false) {
    send(res, 200, TYPES['.html'], shell());
    return;
  }
  if (SSR_HOST_CHECK && host !== allowed) {
    console.error(`ERROR: URL with hostname "${host}" is not allowed.`);
    console.error('Error in server-side rendering (SSR)');
    console.warn('Falling back to serving direct client-side rendering (CSR).');
    send(res, 200, TYPES['.html'], shell());
    return;
  }
  let home;
  try {
    home = await homePageData(config);
  } catch (e) {
    if (e instanceof MissingLink) {
      // dspace-angular's HALEndpointService throws, and the server-side rendering never answers.
      console.error('ERROR Error: ' + e.message);
      return;
    }
    console.warn('Error in server-side rendering (SSR): ' + e.message);
    send(res, 500, TYPES['.html'], page(config, shell(), 'Service unavailable',
      '<h1>500</h1><h2>Service unavailable</h2>'));
    return;
  }
  const esc = (s) => String(s || '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const list = (names) => '<ul>' + names.map((n) => `<li>${esc(n)}</li>`).join('') + '</ul>';
  send(res, 200, TYPES['.html'], page(config, shell(), 'Home',
    `<main id="main-content" data-rendered-path="${esc(req.url)}"><h1>${esc(home.root.dspaceName)}</h1>` +
    `<p>${esc(home.root.dspaceVersion)}</p><section id="communities">${list(home.communities)}</section>` +
    `<section id="recent-items">${list(home.recent)}</section></main>`));
}

// A page rendered server-side: the title as dspace-angular sets it, and the transferred state
// (without the internal ssrBaseUrl, which dspace-angular does not hand to browsers).
function page(config, html, title, body) {
  const state = JSON.parse(JSON.stringify(config));
  if (state.rest.ssrBaseUrl) { state.rest.ssrBaseUrl = ''; state.rest.hasSsrBaseUrl = true; }
  return html
    .replace(/<title>[^<]*<\/title>/, `<title>DSpace Repository :: ${title}</title>`)
    .replace('<ds-app></ds-app>', `<ds-app ng-server-context="ssr">${body}</ds-app>` +
      '<script id="dspace-angular-state" type="application/json">' +
      JSON.stringify({ APP_CONFIG_STATE: state }).replace(/</g, '\\u003c') + '</script>');
}

class MissingLink extends Error {}

// Authorization features the real UI 9.3 asks the REST API about for the site (home page).
const HOME_FEATURES = ['canViewUsageStatistics', 'isCollectionAdmin', 'isCommunityAdmin', 'administratorOf',
  'canSubmit', 'coarNotifyEnabled', 'canEditItem', 'canSeeQA', 'canManageGroups', 'canSendFeedback',
  'epersonRegistration', 'epersonForgotPassword'];

// The REST calls dspace-angular 9.3 makes to render its home page for an anonymous visitor,
// through the links of the REST root (its DspaceRestInterceptor sends them to rest.ssrBaseUrl).
async function homePageData(config) {
  const base = restBase(config);
  const toSsr = (url) => url.split(config.rest.baseUrl.replace(/\/$/, '')).join(base);
  const get = async (url, okStatuses = [200]) => {
    const r = await fetchUrl(toSsr(url), REST_TIMEOUT_MS);
    if (!okStatuses.includes(r.status)) { throw new Error(`${url} answered ${r.status}`); }
    const body = r.status === 200 ? JSON.parse(r.body.toString('utf8')) : null;
    // Pages carry the request's parameters in their self link (RestResourceController).
    const self = body && body.page && body._links && body._links.self && body._links.self.href;
    const asked = url.replace(/[?&]embed=[^&]*/g, '').replace(/\?$/, '');
    if (self && toSsr(self) !== toSsr(asked).replace('?&', '?')) {
      console.warn(`The self link ${self} of ${url} does not match the request`);
    }
    return body;
  };
  const root = await get(base + '/api');
  const links = root._links || {};
  const href = (name) => {
    if (!links[name] || !links[name].href) {
      throw new MissingLink(`${JSON.stringify(Object.keys(links))} doesn't contain the link ${name}`);
    }
    return links[name].href.replace(/\{[^}]*\}/g, '');
  };
  for (const name of ['authn', 'sites', 'scripts', 'properties', 'browses', 'systemwidealerts', 'communities',
    'discover', 'authorizations']) {
    href(name);
  }
  await get(href('authn') + '/status');
  const sites = await get(href('sites'));
  const site = ((sites._embedded || {}).sites || [])[0];
  await Promise.all([
    get(href('scripts') + '/metadata-export', [200, 401, 403, 404]),
    get(href('scripts') + '/metadata-import', [200, 401, 403, 404]),
    get(href('properties') + '/contentreport.enable', [200, 404]),
    get(href('properties') + '/submit.type-bind.field', [200, 404]),
    get(href('browses') + '?size=9999'),
    get(href('systemwidealerts') + '/search/active'),
  ]);
  if (site) {
    await Promise.all(HOME_FEATURES.map((f) => get(href('authorizations') +
      `/search/object?uri=${site._links.self.href}&feature=${f}&embed=feature`)));
  }
  const top = await get(href('communities') + '/search/top?page=0&size=5&sort=dc.title,ASC');
  const discover = await get(href('discover'));
  const search = await get(discover._links.search.href);
  const recent = await get(search._links.objects.href +
    '?sort=dc.date.accessioned,DESC&page=0&size=5&dsoType=ITEM&embed=thumbnail');
  const objects = (((recent._embedded || {}).searchResult || {})._embedded || {}).objects || [];
  return {
    root,
    communities: ((top._embedded || {}).communities || []).map((c) => c.name),
    recent: objects.map((o) => ((o._embedded || {}).indexableObject || {}).name),
  };
}

async function proxy(res, url) {
  try {
    const r = await fetchUrl(url, 15000);
    res.writeHead(r.status, { 'Content-Type': r.headers['content-type'] || 'application/octet-stream' });
    res.end(r.body);
  } catch (e) {
    // server.ts healthCheck: Node's fetch fails with "fetch failed"
    send(res, 503, 'application/json; charset=utf-8', JSON.stringify({ error: 'fetch failed' }));
  }
}

function handler(config) {
  let ns = config.ui.nameSpace || '/';
  if (!ns.startsWith('/')) { ns = '/' + ns; }
  if (!ns.endsWith('/')) { ns += '/'; }
  return async (req, res) => {
    try {
      let p = decodeURIComponent(new URL(req.url, 'http://x').pathname);
      if (ns !== '/' && (p + '/').startsWith(ns)) { p = '/' + p.slice(ns.length); }
      if (p === '/app/health') {
        await proxy(res, restBase(config) + config.actuators.endpointPath);
        return;
      }
      if (p.startsWith('/sitemap')) {
        await proxy(res, restBase(config) + '/sitemaps' + p);
        return;
      }
      if (p.startsWith('/signposting')) {
        await proxy(res, restBase(config) + '/signposting' + p.slice('/signposting'.length));
        return;
      }
      const file = path.normalize(path.join(BROWSER_DIR, p));
      if (file.startsWith(BROWSER_DIR + path.sep) && p !== '/index.html' && fs.existsSync(file) &&
          fs.statSync(file).isFile()) {
        send(res, 200, TYPES[path.extname(file)] || 'application/octet-stream', fs.readFileSync(file));
        return;
      }
      if (path.extname(p) && p !== '/index.html' && !p.startsWith('/handle/')) {
        send(res, 404, TYPES['.txt'], 'Not found');
        return;
      }
      await render(req, res, config);
    } catch (e) {
      console.error(e);
      send(res, 500, TYPES['.txt'], 'Internal error');
    }
  };
}

function banner(config) {
  log('');
  log(`  ${UI_NAME}`);
  log(`  Version: ${UI_VERSION}`);
  log(`  Environment: ${envName()[0] === 'prod' ? 'Production' : envName()[0] === 'dev' ? 'Development' : 'Test'}`);
  log('  (dspace-deploy test look-alike of the dspace-angular server)');
  log('');
}

function main() {
  let config;
  try {
    config = buildConfig();
  } catch (e) {
    console.error('Unable to build the app config: ' + e.message);
    process.exit(1);
  }
  banner(config);
  const h = handler(config);
  let server;
  if (config.ui.ssl) {
    const key = path.join(CONFIG_DIR, 'ssl', 'key.pem');
    const cert = path.join(CONFIG_DIR, 'ssl', 'cert.pem');
    if (!fs.existsSync(key) || !fs.existsSync(cert)) {
      console.error('ui.ssl is true but ./config/ssl/key.pem and ./config/ssl/cert.pem are missing ' +
        '(the look-alike does not generate a self-signed certificate)');
      process.exit(1);
    }
    server = https.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) }, h);
  } else {
    server = http.createServer(h);
  }
  server.on('error', (e) => { console.error(e.message); process.exit(1); });
  server.listen(Number(config.ui.port), config.ui.host, () => {
    log(`[${new Date().toTimeString().slice(0, 8)}] Listening at ${config.ui.baseUrl}`);
  });
  const stop = () => { log('Shutting down'); server.close(() => process.exit(0)); setTimeout(() => process.exit(0), 3000); };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

module.exports = { parseYaml, buildConfig };

if (require.main === module) {
  main();
}
