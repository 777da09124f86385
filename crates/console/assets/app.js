// The Kotohub console: one page, its views chosen by the URL's fragment (#/programme,
// #/measure/1.1, #/queries/NAME, #/audit …). Every number it shows comes from /graphql
// or /q/{name}, asked with the signed-in user's own token, so the hub authorises and
// logs each view as it would any other request. The token lives in this script's memory
// only: never in local or session storage, gone with the tab.
'use strict';

(() => {
  const LABELS = window.KotohubLabels;
  const LANGUAGES = ['fi', 'sv', 'en'];

  const session = {
    token: null,
    principal: null,
    expiresAt: 0,
    signIn: null,
    language: LANGUAGES.find((l) => (navigator.language || '').startsWith(l)) || 'en',
  };

  // ---- Words ---------------------------------------------------------------------

  /** The label `key` in the chosen language, English when it has none. */
  function t(key, values) {
    const text = LABELS[session.language][key] ?? LABELS.en[key] ?? key;
    if (!values) return text;
    return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ''));
  }

  /** A value of one of the schema's enums, in words. */
  function valueLabel(dimension, value) {
    if (value === null || value === undefined) return '';
    const key = `${dimension}.${value}`;
    const text = LABELS[session.language][key] ?? LABELS.en[key];
    return text ?? String(value);
  }

  function number(value) {
    return new Intl.NumberFormat(session.language).format(value);
  }

  // ---- The page ------------------------------------------------------------------

  /** An element with attributes and children; text goes in as text, never as markup. */
  function h(tag, attributes, ...children) {
    const element = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
      else if (value === true) element.setAttribute(name, '');
      else element.setAttribute(name, String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      element.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return element;
  }

  const main = () => document.getElementById('main');

  /** Whether a view change moves the focus: not on the page's first view, where the
   * focus starts at the top of the page, before the skip link. */
  let focusViews = false;

  /** Replaces the view, titles the page after its heading and, after a move from another
   * view, puts the focus there, so that a screen reader announces the new view as a page
   * change and the next Tab goes into it. */
  function show(title, ...content) {
    const view = main();
    view.classList.remove('wide');
    view.replaceChildren(h('h1', { id: 'view-title' }, title), ...content.filter((c) => c !== null && c !== undefined && c !== false));
    document.title = `${title} – Kotohub`;
    if (focusViews) view.focus();
  }

  function announce(text) {
    document.getElementById('status').textContent = text;
  }

  function errorBox(error) {
    return h('p', { class: 'error', role: 'alert' }, error.message || String(error));
  }

  function loading() {
    return h('p', { class: 'note', 'aria-busy': 'true' }, t('loading'));
  }

  // ---- Talking to the hub --------------------------------------------------------

  class HubError extends Error {}

  function authorization() {
    return { Authorization: `Bearer ${session.token}` };
  }

  /** The data of a GraphQL operation; its errors, joined, as a HubError. */
  async function graphql(query, variables) {
    const response = await fetch('/graphql', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...authorization() },
      body: JSON.stringify({ query, variables: variables || {} }),
    });
    let body;
    try {
      body = await response.json();
    } catch {
      throw new HubError(t('error.http', { status: response.status }));
    }
    if (body.errors && body.errors.length) {
      const error = new HubError(body.errors.map((e) => e.message).join(' · '));
      error.data = body.data;
      error.codes = body.errors.map((e) => e.extensions && e.extensions.code);
      throw error;
    }
    return body.data;
  }

  /** A saved query's run in CSV, as the hub sent it (a byte-order mark too, which
   * decoding it as text would drop). */
  async function savedQueryCsv(name, parameters) {
    const response = await fetch(`/q/${encodeURIComponent(name)}?${parameters}`, {
      headers: authorization(),
    });
    const bytes = await response.blob();
    if (!response.ok) {
      let message = t('error.http', { status: response.status });
      try {
        message = JSON.parse(await bytes.text()).errors.map((e) => e.message).join(' · ');
      } catch {
        // Not JSON: the status says enough.
      }
      throw new HubError(message);
    }
    return bytes;
  }

  // ---- CSV -----------------------------------------------------------------------

  function csvField(value) {
    const text = value === null || value === undefined ? '' : String(value);
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  }

  function toCsv(header, rows) {
    return [header, ...rows].map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n';
  }

  /** RFC 4180 rows of a CSV text. */
  function parseCsv(text) {
    const rows = [];
    let row = [];
    let field = '';
    let quoted = false;
    const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
    for (let i = 0; i < body.length; i++) {
      const c = body[i];
      if (quoted) {
        if (c === '"' && body[i + 1] === '"') {
          field += '"';
          i++;
        } else if (c === '"') quoted = false;
        else field += c;
      } else if (c === '"') quoted = true;
      else if (c === ',') {
        row.push(field);
        field = '';
      } else if (c === '\n' || c === '\r') {
        if (c === '\r' && body[i + 1] === '\n') i++;
        row.push(field);
        rows.push(row);
        row = [];
        field = '';
      } else field += c;
    }
    if (field !== '' || row.length) {
      row.push(field);
      rows.push(row);
    }
    return rows;
  }

  /** A link that downloads `content` (a text or the bytes of a blob) as a file. */
  function downloadLink(label, fileName, content) {
    const blob = content instanceof Blob ? content : new Blob([content], { type: 'text/csv;charset=utf-8' });
    return h('a', { class: 'button secondary', href: URL.createObjectURL(blob), download: fileName, 'data-csv': 'true' }, label);
  }

  // ---- Tables and charts ---------------------------------------------------------

  /** A table with a caption, header cells scoped to their columns, and numbers aligned. */
  function table(caption, header, rows, numeric) {
    // A region of its own, focusable, so that a keyboard can scroll a wide table.
    return h('div', { class: 'table-scroll', role: 'region', tabindex: '0', 'aria-label': caption },
      h('table', {},
        h('caption', {}, caption),
        h('thead', {}, h('tr', {}, header.map((name, i) =>
          h('th', { scope: 'col', class: numeric && numeric[i] ? 'number' : null }, name)))),
        h('tbody', {}, rows.map((row) => h('tr', {}, row.map((cell, i) =>
          cell instanceof Node ? h('td', { class: numeric && numeric[i] ? 'number' : null }, cell)
            : h('td', { class: numeric && numeric[i] ? 'number' : null }, cell)))))));
  }

  /** How a count reads: "<5" for a suppressed cell, never a number. */
  function countCell(cell, field) {
    if (cell.suppressed) {
      return h('span', { class: 'suppressed', title: t('suppressed.title') }, '<5',
        h('span', { class: 'visually-hidden' }, ` (${t('suppressed')})`));
    }
    return cell[field] === null || cell[field] === undefined ? '–' : number(cell[field]);
  }

  /** A bar chart of a breakdown. Suppressed cells have no bar and say "<5" where the bar
   * would be; bars carry their value as text and a pattern, so nothing rests on colour. */
  function barChart(title, categories, cells, field, target) {
    const container = h('div', { class: 'chart', role: 'img', 'aria-label': `${title}: ${t('chart.alt')}` });
    if (typeof echarts === 'undefined') return container;
    requestAnimationFrame(() => {
      const chart = echarts.init(container, null, { renderer: 'svg' });
      chart.setOption({
        animation: false,
        aria: { enabled: true, decal: { show: true } },
        grid: { left: 48, right: 16, top: 24, bottom: 64, containLabel: true },
        tooltip: { trigger: 'axis' },
        xAxis: { type: 'category', data: categories, axisLabel: { interval: 0, rotate: categories.length > 6 ? 30 : 0 } },
        // A target above every bar still shows: the axis reaches it.
        yAxis: { type: 'value', minInterval: 1, max: target === null || target === undefined ? null : (extent) => Math.max(extent.max, target) },
        series: [{
          type: 'bar',
          name: title,
          itemStyle: { color: '#0b57a4' },
          data: cells.map((cell) => (cell.suppressed ? null : cell[field])),
          label: {
            show: true,
            position: 'top',
            color: '#1a1a1a',
            formatter: (p) => (p.value === null || p.value === undefined ? '' : number(p.value)),
          },
          markPoint: {
            symbol: 'rect',
            symbolSize: 1,
            label: { show: true, color: '#1a1a1a', fontStyle: 'italic', formatter: '<5' },
            data: cells.flatMap((cell, i) => (cell.suppressed ? [{ coord: [i, 0], value: '<5' }] : [])),
          },
          markLine: target === null || target === undefined ? undefined : {
            symbol: 'none',
            lineStyle: { color: '#1a1a1a', type: 'dashed', width: 2 },
            label: { formatter: `${t('target')}: ${number(target)}`, color: '#1a1a1a' },
            data: [{ yAxis: target }],
          },
        }],
      });
      window.addEventListener('resize', () => chart.resize());
    });
    return container;
  }

  // ---- Sign-in -------------------------------------------------------------------

  function base64Url(bytes) {
    return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function randomText() {
    return base64Url(crypto.getRandomValues(new Uint8Array(32)));
  }

  /** The claims of a token the identity provider issued: only to decide which sections
   * to offer. The hub verifies the token itself on every request. */
  function claimsOf(token) {
    const payload = token.split('.')[1] || '';
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    const text = new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0)));
    return JSON.parse(text);
  }

  function signedIn(token, principal, expiresAt) {
    session.token = token;
    session.principal = principal;
    session.expiresAt = expiresAt;
    renderHeader();
    announce(t('signedIn', { subject: principal.subject }));
    const start = sections()[0];
    navigate(start ? start.hash : '#/');
  }

  function signOut() {
    session.token = null;
    session.principal = null;
    navigate('#/');
  }

  /** Goes to `hash`; showing it again when the URL already names it. */
  function navigate(hash) {
    focusViews = true;
    if (location.hash === hash) route();
    else location.hash = hash;
  }

  async function devSignIn(subject) {
    const response = await fetch('/console/dev-token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ subject }),
    });
    const body = await response.json();
    if (!response.ok) throw new HubError(body.errors.map((e) => e.message).join(' · '));
    signedIn(body.token, body.principal, body.expiresAt * 1000);
  }

  const PKCE_KEY = 'kotohub.console.pkce';

  /** Sends the browser to the identity provider: authorization code with PKCE (S256).
   * Only the verifier and the state wait in this tab's session storage for the way back;
   * tokens never go there. */
  async function oidcSignIn(settings) {
    const verifier = randomText();
    const state = randomText();
    const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
    sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state, hash: location.hash }));
    const url = new URL(settings.authorizationUrl);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: settings.clientId,
      redirect_uri: `${location.origin}/`,
      scope: settings.scope,
      state,
      code_challenge: base64Url(new Uint8Array(digest)),
      code_challenge_method: 'S256',
    }).toString();
    location.assign(url.toString());
  }

  /** Back from the identity provider with a code: trades it for a token. */
  async function oidcReturn(settings) {
    const query = new URLSearchParams(location.search);
    const code = query.get('code');
    const error = query.get('error');
    if (!code && !error) return false;
    const pending = JSON.parse(sessionStorage.getItem(PKCE_KEY) || 'null');
    sessionStorage.removeItem(PKCE_KEY);
    history.replaceState(null, '', `/${pending ? pending.hash : ''}`);
    if (error) throw new HubError(t('signIn.refused', { error }));
    if (!pending || pending.state !== query.get('state')) throw new HubError(t('signIn.state'));
    const response = await fetch(settings.tokenUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: `${location.origin}/`,
        client_id: settings.clientId,
        code_verifier: pending.verifier,
      }),
    });
    const body = await response.json();
    if (!response.ok || !body.access_token) throw new HubError(t('signIn.refused', { error: body.error || response.status }));
    const claims = claimsOf(body.access_token);
    signedIn(body.access_token, {
      subject: claims.sub,
      roles: claims.roles || [],
      bodies: claims.bodies || [],
      division: claims.division || null,
    }, (claims.exp || 0) * 1000);
    return true;
  }

  function principalSummary(p) {
    const roles = p.roles.map((r) => valueLabel('role', r)).join(', ');
    const scope = p.bodies.length ? p.bodies.join(', ') : p.division ? valueLabel('division', p.division) : t('scope.city');
    return `${roles} · ${scope}`;
  }

  function signInView() {
    const settings = session.signIn;
    if (!settings) return show(t('signIn'), loading());
    if (settings.mode === 'dev') {
      return show(t('signIn'),
        h('p', { class: 'lead' }, t('signIn.dev')),
        h('ul', { class: 'principals' }, settings.principals
          .filter((p) => !p.roles.includes('importer'))
          .map((p) => h('li', {}, h('button', {
            type: 'button',
            'data-subject': p.subject,
            onclick: (event) => {
              event.currentTarget.disabled = true;
              devSignIn(p.subject).catch((e) => main().append(errorBox(e)));
            },
          }, valueLabel('role', p.roles[0]), h('span', {}, `${p.subject} · ${principalSummary(p)}`))))));
    }
    if (settings.mode === 'oidc') {
      return show(t('signIn'),
        h('p', { class: 'lead' }, t('signIn.oidc')),
        h('button', { type: 'button', onclick: () => oidcSignIn(settings).catch((e) => main().append(errorBox(e))) },
          t('signIn.provider')));
    }
    return show(t('signIn'), h('p', { class: 'error' }, t('signIn.unavailable')));
  }

  // ---- Sections ------------------------------------------------------------------

  /** The sections the signed-in user's roles have; the hub refuses the rest anyway. */
  function sections() {
    const roles = (session.principal && session.principal.roles) || [];
    const all = [
      { hash: '#/programme', label: 'nav.programme', roles: ['analyst'] },
      { hash: '#/audit', label: 'nav.audit', roles: ['auditor'] },
      { hash: '#/audit/client', label: 'nav.client', roles: ['auditor'] },
      { hash: '#/queries', label: 'nav.queries', roles: ['officer', 'auditor', 'admin'] },
      { hash: '#/indicators', label: 'nav.indicators', roles: ['officer'] },
      { hash: '#/graphiql', label: 'nav.graphiql', roles: ['analyst', 'officer', 'partner', 'auditor', 'admin', 'importer'] },
    ];
    return all.filter((s) => s.roles.some((r) => roles.includes(r)));
  }

  function renderHeader() {
    document.documentElement.lang = session.language;
    document.querySelector('.skip').textContent = t('skip');
    document.getElementById('language-label').textContent = t('language');
    const nav = document.getElementById('sections');
    nav.setAttribute('aria-label', t('nav'));
    const current = location.hash;
    nav.replaceChildren(h('ul', {}, sections().map((s) => h('li', {},
      h('a', { href: s.hash, 'aria-current': current === s.hash || current.startsWith(`${s.hash}/`) && s.hash !== '#/audit' ? 'page' : null }, t(s.label))))));
    const who = document.getElementById('who');
    who.replaceChildren(...(session.principal
      ? [h('span', {}, `${session.principal.subject} (${principalSummary(session.principal)})`), ' ',
        h('button', { type: 'button', onclick: signOut }, t('signOut'))]
      : []));
  }

  // ---- Analyst: the programme ----------------------------------------------------

  const PROGRAMME = `query ConsoleProgramme {
  themes { number title titleFi measureSets { id title measures { id summary responsibleBodies { id name } } } }
}`;

  const PROGRAMME_INDICATORS = `query ConsoleProgrammeIndicators {
  indicators(scope: PROGRAMME) { id text target responsibleBody { name } sources }
}`;

  const MEASURE_COUNTS = `query ConsoleMeasureCounts {
  clientStatistics(by: [MEASURE]) { cells { measureId clients suppressed } }
}`;

  async function programmeView() {
    show(t('programme'), loading());
    const [catalog, counts, indicators] = await Promise.allSettled(
      [graphql(PROGRAMME), graphql(MEASURE_COUNTS), graphql(PROGRAMME_INDICATORS)]);
    if (catalog.status === 'rejected') return show(t('programme'), errorBox(catalog.reason));
    const byMeasure = new Map();
    if (counts.status === 'fulfilled') {
      for (const cell of counts.value.clientStatistics.cells) byMeasure.set(cell.measureId, cell);
    }
    const content = [h('p', { class: 'lead' }, t('programme.lead'))];
    if (counts.status === 'rejected') content.push(errorBox(counts.reason));
    for (const theme of catalog.value.themes) {
      content.push(h('h2', {}, `${theme.number}. ${session.language === 'fi' ? theme.titleFi : theme.title}`));
      for (const set of theme.measureSets) {
        const rows = set.measures.map((m) => {
          const cell = byMeasure.get(m.id);
          return [
            h('a', { href: `#/measure/${encodeURIComponent(m.id)}` }, m.id),
            m.summary,
            m.responsibleBodies.map((b) => b.name).join(', '),
            cell ? countCell(cell, 'clients') : h('span', { class: 'note' }, t('programme.noData')),
          ];
        });
        content.push(table(`${set.id}. ${set.title}`,
          [t('measure'), t('summary'), t('responsibleBodies'), t('clients')], rows, [false, false, false, true]));
      }
    }
    if (indicators.status === 'fulfilled' && indicators.value.indicators.length) {
      content.push(h('h2', {}, t('programme.indicators')),
        table(t('programme.indicators'), [t('indicator'), t('target'), t('monitoredBy'), t('sources')],
          indicators.value.indicators.map((i) => [`${i.id}: ${i.text}`, i.target === null ? '–' : number(i.target),
            i.responsibleBody ? i.responsibleBody.name : '–', i.sources.join('; ') || '–']), [false, true, false, false]));
    }
    show(t('programme'), ...content);
  }

  const BREAKDOWNS = [
    { dimension: 'DISTRICT', field: 'district', label: 'by.district' },
    { dimension: 'MOTHER_TONGUE_GROUP', field: 'motherTongueGroup', label: 'by.motherTongueGroup' },
    { dimension: 'AGE_GROUP', field: 'ageGroup', label: 'by.ageGroup' },
    { dimension: 'GENDER', field: 'gender', label: 'by.gender' },
    { dimension: 'BACKGROUND', field: 'background', label: 'by.background' },
  ];

  const MEASURE = `query ConsoleMeasure($id: ID!) {
  measure(id: $id) {
    id summary group objectives
    theme { number title titleFi }
    measureSet { id title }
    responsibleBodies { id name division { id name } }
    indicators { id }
  }
}`;

  const MEASURE_INDICATORS = `query ConsoleMeasureIndicators($id: ID!) {
  measure(id: $id) {
    indicators {
      id text kind target computed definition
      targets { value of per }
      reportingBodies { id name }
      values { period value status suppressed noData source }
    }
  }
}`;

  /** How one period's value of an indicator reads: "<5", "no data", a status or a number. */
  function indicatorValue(indicator, value) {
    if (value.suppressed) return countCell({ suppressed: true }, 'value');
    if (value.noData) return h('span', { class: 'note' }, t('noData'));
    if (value.status) return valueLabel('status', value.status);
    if (value.value === null) return '–';
    return indicator.kind === 'PERCENTAGE' ? `${number(value.value)} %` : number(value.value);
  }

  /** An indicator with its values against its target: a chart for the counted ones, a
   * table and its CSV for all. */
  function indicatorCard(indicator) {
    const slug = `indicator-${indicator.id.replace(/[^0-9a-z]+/gi, '-')}`;
    const how = indicator.computed
      ? t('indicator.computed', { definition: indicator.definition })
      : t('indicator.recorded', { bodies: indicator.reportingBodies.map((b) => b.name).join(', ') || '–' });
    const rows = indicator.values.map((v) => [v.period, indicatorValue(indicator, v),
      indicator.target === null ? '–' : number(indicator.target), v.source || (indicator.computed ? t('register') : '–')]);
    const csv = toCsv(['period', 'value', 'status', 'suppressed', 'no_data', 'target', 'source'],
      indicator.values.map((v) => [v.period, v.value, v.status, v.suppressed, v.noData, indicator.target, v.source]));
    const numeric = indicator.values.some((v) => v.value !== null || v.suppressed);
    return h('section', { class: 'card', 'aria-labelledby': `${slug}-title` },
      h('h3', { id: `${slug}-title` }, `${indicator.id}: ${indicator.text}`),
      h('p', { class: 'note' }, `${valueLabel('kind', indicator.kind)} · ${how}`),
      indicator.targets.length ? h('p', {}, `${t('column.target')}: `, indicator.targets.map((target) =>
        `${number(target.value)}${target.of ? ` ${target.of}` : ''} (${valueLabel('per', target.per)})`).join('; ')) : null,
      indicator.values.length && numeric && indicator.computed
        ? barChart(indicator.text, indicator.values.map((v) => v.period),
          indicator.values.map((v) => ({ ...v, value: v.noData ? null : v.value })), 'value', indicator.target)
        : null,
      indicator.values.length
        ? table(`${indicator.id} (${t('values')})`, [t('period'), t('value'), t('column.target'), t('source')], rows, [false, true, true, false])
        : h('p', {}, t('indicator.noValues')),
      indicator.values.length ? downloadLink(t('download.csv'), `${slug}.csv`, csv) : null);
  }

  const MEASURE_STATISTICS = `query ConsoleMeasureStatistics($id: ID!, $period: ClientDimension!) {
  series: clientStatistics(by: [$period], measure: $id) { ...Table }
  district: clientStatistics(by: [DISTRICT], measure: $id) { ...Table }
  motherTongueGroup: clientStatistics(by: [MOTHER_TONGUE_GROUP], measure: $id) { ...Table }
  ageGroup: clientStatistics(by: [AGE_GROUP], measure: $id) { ...Table }
  gender: clientStatistics(by: [GENDER], measure: $id) { ...Table }
  background: clientStatistics(by: [BACKGROUND], measure: $id) { ...Table }
  eventsByYear: eventStatistics(by: [YEAR], measure: $id) { ...Events }
  eventsByLanguages: eventStatistics(by: [LANGUAGES], measure: $id) { ...Events }
}
fragment Events on EventStatistics {
  suppressedCells
  total { events suppressed }
  cells { year languages events suppressed }
}
fragment Table on ClientStatistics {
  suppressedCells
  total { clients suppressed }
  cells { year quarter district motherTongueGroup ageGroup gender background clients suppressed }
}`;

  function periodLabel(cell) {
    return cell.quarter ? `${cell.year} Q${cell.quarter}` : String(cell.year);
  }

  /** One breakdown as a chart, a table and a CSV download. */
  function breakdown(title, fileName, dimensionName, categoryOf, statistics, counted = 'clients') {
    const cells = statistics.cells;
    const categories = cells.map(categoryOf);
    const rows = cells.map((cell, i) => [categories[i], countCell(cell, counted)]);
    rows.push([t('total'), countCell(statistics.total, counted)]);
    const csv = toCsv([dimensionName, counted, 'suppressed'],
      [...cells.map((cell, i) => [categories[i], cell.suppressed ? '' : cell[counted], cell.suppressed]),
        [t('total'), statistics.total.suppressed ? '' : statistics.total[counted], statistics.total.suppressed]]);
    return h('section', { class: 'card', 'aria-labelledby': `${fileName}-title` },
      h('h3', { id: `${fileName}-title` }, title),
      barChart(title, categories, cells, counted),
      table(`${title} (${t(`count.${counted}`)})`, [t(`column.${dimensionName}`), t(`count.${counted}`)], rows, [false, true]),
      statistics.suppressedCells ? h('p', { class: 'note' }, t('suppressed.note', { count: statistics.suppressedCells })) : null,
      downloadLink(t('download.csv'), `${fileName}.csv`, csv));
  }

  async function measureView(id, period) {
    show(t('measure.title', { id }), loading());
    let measure;
    try {
      measure = (await graphql(MEASURE, { id })).measure;
    } catch (e) {
      return show(t('measure.title', { id }), errorBox(e));
    }
    if (!measure) return show(t('measure.title', { id }), h('p', {}, t('measure.none')));
    const title = t('measure.title', { id: measure.id });
    const about = [
      h('p', { class: 'lead' }, measure.summary),
      h('dl', { class: 'details' },
        h('dt', {}, t('theme')), h('dd', {}, measure.theme ? `${measure.theme.number}. ${session.language === 'fi' ? measure.theme.titleFi : measure.theme.title}` : '–'),
        h('dt', {}, t('measureSet')), h('dd', {}, measure.measureSet ? `${measure.measureSet.id}. ${measure.measureSet.title}` : '–'),
        h('dt', {}, t('responsibleBodies')), h('dd', {}, measure.responsibleBodies.map((b) => `${b.name}${b.division ? ` (${b.division.name})` : ''}`).join(', '))),
    ];
    // The indicators are asked for on their own, so that a refusal of their values
    // leaves the rest of the page standing; the breakdowns are asked for meanwhile.
    const asked = graphql(MEASURE_STATISTICS, { id, period });
    // Its failure is shown below; this only keeps it from counting as unhandled meanwhile.
    asked.catch(() => {});
    const indicators = graphql(MEASURE_INDICATORS, { id })
      .then((data) => (data.measure.indicators.length
        ? h('div', { class: 'cards', id: 'indicators' }, data.measure.indicators.map(indicatorCard))
        : h('p', { class: 'note' }, t('indicators.none'))))
      .catch(errorBox);
    about.push(h('h2', {}, t('indicators')), await indicators);
    const periodSwitch = h('p', {},
      h('a', { href: `#/measure/${encodeURIComponent(id)}`, 'aria-current': period === 'YEAR' ? 'true' : null }, t('by.year')), ' · ',
      h('a', { href: `#/measure/${encodeURIComponent(id)}/quarters`, 'aria-current': period === 'QUARTER' ? 'true' : null }, t('by.quarter')));
    show(title, ...about, h('h2', {}, t('statistics')), loading());
    let statistics;
    try {
      statistics = await asked;
    } catch (e) {
      return show(title, ...about, h('h2', {}, t('statistics')), errorBox(e));
    }
    const slug = `measure-${measure.id.replace(/[^0-9a-z]+/gi, '-')}`;
    const charts = [
      breakdown(period === 'YEAR' ? t('by.year') : t('by.quarter'), `${slug}-${period.toLowerCase()}`,
        period === 'YEAR' ? 'year' : 'quarter', periodLabel, statistics.series),
      ...BREAKDOWNS.map((b) => breakdown(t(b.label), `${slug}-${b.field}`, b.field,
        (cell) => valueLabel(b.field, cell[b.field]), statistics[b.field])),
    ];
    // Events only for measures that hold events: a zero total says the measure has none.
    const events = statistics.eventsByYear.total.events === 0 ? [] : [
      h('h2', {}, t('events.statistics')),
      h('div', { class: 'cards' },
        breakdown(t('by.year'), `${slug}-events-year`, 'year', periodLabel, statistics.eventsByYear, 'events'),
        breakdown(t('by.languages'), `${slug}-events-languages`, 'languages',
          (cell) => valueLabel('languages', cell.languages), statistics.eventsByLanguages, 'events')),
    ];
    // A measure outside the analyst's grant, or without records, counts no one.
    const clients = statistics.series.total.clients === 0
      ? [h('p', {}, t('statistics.none'))]
      : [h('p', { class: 'note' }, t('statistics.note')), periodSwitch, h('div', { class: 'cards' }, charts)];
    show(title, ...about, h('h2', {}, t('statistics')), ...clients, ...events);
  }

  // ---- Officers: recording indicators --------------------------------------------

  const OWN_INDICATORS = `query ConsoleIndicators {
  indicators { id text kind computed reportingBodies { id } records { period version status value } }
}`;

  /** The indicators the officer's bodies record (the counted ones record themselves). */
  async function indicatorsView() {
    show(t('nav.indicators'), loading());
    let list;
    try {
      list = (await graphql(OWN_INDICATORS)).indicators;
    } catch (e) {
      return show(t('nav.indicators'), errorBox(e));
    }
    const bodies = session.principal.bodies || [];
    const own = list.filter((i) => !i.computed && i.reportingBodies.some((b) => bodies.includes(b.id)));
    show(t('nav.indicators'), h('p', { class: 'lead' }, t('indicators.lead')),
      own.length
        ? table(t('nav.indicators'), [t('indicator'), t('kind'), t('latest')], own.map((i) => {
          const latest = i.records[i.records.length - 1];
          return [h('a', { href: `#/indicators/${encodeURIComponent(i.id)}` }, `${i.id}: ${i.text}`), valueLabel('kind', i.kind),
            latest ? `${latest.period}: ${latest.status ? valueLabel('status', latest.status) : number(latest.value)}` : t('indicator.noValues')];
        }))
        : h('p', {}, t('indicators.noneOwn')));
  }

  const INDICATOR = `query ConsoleIndicator($id: ID!) {
  indicator(id: $id) {
    id text kind target computed reportingBodies { id name }
    history { period version status value source sourceDate note body recordedBy recordedAt }
  }
}`;

  const RECORD_INDICATOR = `mutation ConsoleRecordIndicator($input: RecordIndicatorInput!) {
  recordIndicator(input: $input) { period version }
}`;

  const STATUSES = ['NOT_STARTED', 'IN_PROGRESS', 'PARTIALLY', 'ACHIEVED', 'NOT_ACHIEVED'];

  /** One indicator's history and the form that records its next value. */
  async function indicatorView(id) {
    show(id, loading());
    let indicator;
    try {
      indicator = (await graphql(INDICATOR, { id })).indicator;
    } catch (e) {
      return show(id, errorBox(e));
    }
    if (!indicator) return show(id, h('p', {}, t('indicator.none')));
    const takesStatus = indicator.kind === 'MILESTONE' || indicator.kind === 'YES_NO_PARTIALLY';
    // A survey's result or an outside statistic is only as good as its release.
    const datedSource = indicator.kind === 'SURVEY_SCORE' || indicator.kind === 'EXTERNAL_STATISTIC';
    const statuses = indicator.kind === 'YES_NO_PARTIALLY' ? ['ACHIEVED', 'PARTIALLY', 'NOT_ACHIEVED'] : STATUSES;
    const message = h('div', { 'aria-live': 'polite', id: 'record-message' });
    const field = (name, label, input, help) => h('div', { class: 'field' },
      h('label', { for: `record-${name}` }, label), input, help ? h('small', {}, help) : null);
    const form = h('form', { class: 'filters', id: 'record-form' },
      field('period', t('period'), h('input', { id: 'record-period', name: 'period', required: true, placeholder: '2019' }), t('period.help')),
      takesStatus
        ? field('status', t('status'), h('select', { id: 'record-status', name: 'status' }, statuses.map((v) => h('option', { value: v }, valueLabel('status', v)))))
        : field('value', t('value'), h('input', { id: 'record-value', name: 'value', type: 'number', step: 'any', min: '0', required: true })),
      field('source', t('source'), h('input', { id: 'record-source', name: 'source', required: true })),
      field('source-date', t('sourceDate'), h('input', { id: 'record-source-date', name: 'sourceDate', type: 'date', required: datedSource })),
      field('note', t('note'), h('input', { id: 'record-note', name: 'note' })),
      h('button', { type: 'submit' }, t('record')));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const input = {
        indicator: indicator.id,
        period: form.elements.period.value.trim(),
        source: form.elements.source.value,
        note: form.elements.note.value,
      };
      if (form.elements.sourceDate.value) input.sourceDate = form.elements.sourceDate.value;
      if (takesStatus) input.status = form.elements.status.value;
      else input.value = Number(form.elements.value.value);
      try {
        const saved = (await graphql(RECORD_INDICATOR, { input })).recordIndicator;
        route();
        announce(t('record.saved', { period: saved.period, version: saved.version }));
      } catch (e) {
        message.replaceChildren(errorBox(e));
      }
    });
    const bodies = session.principal.bodies || [];
    const mine = !indicator.computed && indicator.reportingBodies.some((b) => bodies.includes(b.id));
    show(`${indicator.id}: ${indicator.text}`,
      h('p', { class: 'note' }, `${valueLabel('kind', indicator.kind)} · ${indicator.computed ? t('indicator.computedShort')
        : t('indicator.recorded', { bodies: indicator.reportingBodies.map((b) => b.name).join(', ') })}`),
      indicator.target === null ? null : h('p', {}, `${t('target')}: ${number(indicator.target)}`),
      h('h2', {}, t('history')),
      indicator.history.length
        ? table(t('history'), [t('period'), t('version'), t('value'), t('source'), t('note'), t('savedBy'), t('savedAt')],
          indicator.history.map((r) => [r.period, String(r.version), r.status ? valueLabel('status', r.status) : number(r.value),
            r.sourceDate ? `${r.source} (${r.sourceDate})` : r.source, r.note || '–', `${r.recordedBy} (${r.body})`, r.recordedAt.replace('T', ' ').slice(0, 19)]))
        : h('p', {}, t('indicator.noValues')),
      mine ? h('h2', {}, t('record')) : null, mine ? form : null, message);
  }

  // ---- Officers: saved queries ---------------------------------------------------

  const SAVED_QUERIES = `query ConsoleSavedQueries {
  savedQueries { name title description ownerBody visibility latestVersion updatedAt }
}`;

  async function queriesView() {
    show(t('queries'), loading());
    let list;
    try {
      list = (await graphql(SAVED_QUERIES)).savedQueries;
    } catch (e) {
      return show(t('queries'), errorBox(e));
    }
    show(t('queries'),
      h('p', { class: 'lead' }, t('queries.lead')),
      list.length
        ? table(t('queries'), [t('query'), t('owner'), t('visibility'), t('version'), t('updated')],
          list.map((q) => [h('a', { href: `#/queries/${encodeURIComponent(q.name)}` }, q.title), q.ownerBody,
            valueLabel('visibility', q.visibility), String(q.latestVersion), q.updatedAt.slice(0, 10)]))
        : h('p', {}, t('queries.none')));
  }

  const SAVED_QUERY = `query ConsoleSavedQuery($name: String!, $version: Int) {
  savedQuery(name: $name, version: $version) {
    name title description ownerBody visibility sharedWith archived version latestVersion
    document savedAt savedBy
    variables { name type defaultValue description }
    history { version title savedAt savedBy documentHash }
  }
}`;

  const PAGE_ROWS = 25;

  /** A field of the run form for one variable, by its GraphQL type. */
  function variableField(variable) {
    const id = `var-${variable.name}`;
    const base = variable.type.replace(/!$/, '');
    const fallback = variable.defaultValue === null || variable.defaultValue === undefined ? ''
      : Array.isArray(variable.defaultValue) ? variable.defaultValue.join(',') : String(variable.defaultValue);
    let input;
    if (base === 'Boolean') {
      input = h('select', { id, name: variable.name },
        h('option', { value: '' }, '–'), h('option', { value: 'true', selected: fallback === 'true' }, t('yes')),
        h('option', { value: 'false', selected: fallback === 'false' }, t('no')));
    } else {
      input = h('input', {
        id,
        name: variable.name,
        type: base === 'Int' || base === 'Float' ? 'number' : 'text',
        step: base === 'Float' ? 'any' : null,
        placeholder: fallback,
        required: variable.type.endsWith('!') && fallback === '' ? true : null,
        'aria-describedby': `${id}-help`,
      });
    }
    return h('div', { class: 'field' },
      h('label', { for: id }, `${variable.name} (${variable.type})`),
      input,
      h('small', { id: `${id}-help` }, [variable.description, base.startsWith('[') ? t('variables.list') : null].filter(Boolean).join(' ')));
  }

  function resultTable(rows, page) {
    const [header, ...data] = rows;
    const pages = Math.max(1, Math.ceil(data.length / PAGE_ROWS));
    const at = Math.min(page, pages - 1);
    const shown = data.slice(at * PAGE_ROWS, at * PAGE_ROWS + PAGE_ROWS);
    const holder = h('div', { id: 'result-table' });
    const pager = h('div', { class: 'pager' },
      h('button', { type: 'button', class: 'secondary', disabled: at === 0, onclick: () => holder.replaceWith(resultTable(rows, at - 1)) }, t('page.previous')),
      h('span', {}, t('page.of', { page: at + 1, pages, rows: number(data.length) })),
      h('button', { type: 'button', class: 'secondary', disabled: at + 1 >= pages, onclick: () => holder.replaceWith(resultTable(rows, at + 1)) }, t('page.next')));
    holder.append(table(t('results'), header || [], shown), pager);
    return holder;
  }

  async function queryView(name, version) {
    show(name, loading());
    let query;
    try {
      query = (await graphql(SAVED_QUERY, { name, version })).savedQuery;
    } catch (e) {
      return show(name, errorBox(e));
    }
    if (!query) return show(name, h('p', {}, t('query.none')));
    const owner = (session.principal.bodies || []).includes(query.ownerBody) || session.principal.roles.includes('admin');
    const results = h('div', { id: 'results', 'aria-live': 'polite' });
    const form = h('form', { class: 'variables', id: 'run-form' }, query.variables.map(variableField),
      h('div', { class: 'field' }, h('label', { for: 'bom' }, h('input', { type: 'checkbox', id: 'bom' }), ` ${t('bom')}`)),
      h('button', { type: 'submit' }, t('run')));
    const parameters = () => {
      const p = new URLSearchParams();
      for (const v of query.variables) {
        const value = form.elements[v.name].value.trim();
        if (value !== '') p.set(v.name, value);
      }
      if (version) p.set('version', String(version));
      return p;
    };
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      results.replaceChildren(loading());
      const p = parameters();
      p.set('format', 'csv');
      try {
        const csv = await savedQueryCsv(name, p.toString());
        const rows = parseCsv(await csv.text());
        const download = form.elements.bom.checked ? await savedQueryCsv(name, `${p.toString()}&bom=true`) : csv;
        results.replaceChildren(resultTable(rows, 0), downloadLink(t('download.csv'), `${name}.csv`, download));
        announce(t('results.count', { rows: number(Math.max(0, rows.length - 1)) }));
      } catch (e) {
        results.replaceChildren(errorBox(e));
      }
    });
    const history = table(t('history'), [t('version'), t('title'), t('savedAt'), t('savedBy'), 'SHA-256'],
      query.history.map((r) => [h('a', { href: `#/queries/${encodeURIComponent(name)}/${r.version}` }, String(r.version)),
        r.title, r.savedAt, r.savedBy, r.documentHash.slice(0, 12)]));
    const content = [
      h('p', { class: 'lead' }, query.description),
      h('dl', { class: 'details' },
        h('dt', {}, t('owner')), h('dd', {}, query.ownerBody),
        h('dt', {}, t('visibility')), h('dd', {}, valueLabel('visibility', query.visibility) + (query.sharedWith.length ? ` (${query.sharedWith.join(', ')})` : '')),
        h('dt', {}, t('version')), h('dd', {}, t('version.of', { version: query.version, latest: query.latestVersion })),
        h('dt', {}, t('savedAt')), h('dd', {}, `${query.savedAt} · ${query.savedBy}`)),
      query.archived ? h('p', { class: 'error' }, t('archived')) : null,
      h('h2', {}, t('run')), form, results,
      h('h2', {}, t('document')), h('pre', {}, query.document),
      h('h2', {}, t('history')), history,
    ];
    if (owner && !query.archived) content.push(h('h2', {}, t('manage')), manageForm(query));
    show(query.title, ...content);
  }

  function manageForm(query) {
    const message = h('div', { 'aria-live': 'polite' });
    const visibility = h('select', { id: 'visibility', name: 'visibility' },
      ['OWNER_BODY', 'SHARED', 'ALL_OFFICERS'].map((v) => h('option', { value: v, selected: v === query.visibility }, valueLabel('visibility', v))));
    const bodies = h('input', { id: 'shared-bodies', type: 'text', value: query.sharedWith.join(','), 'aria-describedby': 'shared-bodies-help' });
    const share = h('form', { class: 'filters' },
      h('div', { class: 'field' }, h('label', { for: 'visibility' }, t('visibility')), visibility),
      h('div', { class: 'field' }, h('label', { for: 'shared-bodies' }, t('sharedWith')), bodies, h('small', { id: 'shared-bodies-help' }, t('sharedWith.help'))),
      h('button', { type: 'submit' }, t('share')));
    share.addEventListener('submit', async (event) => {
      event.preventDefault();
      try {
        await graphql('mutation ConsoleShareQuery($name: String!, $visibility: SavedQueryVisibility!, $bodies: [ID!]!) { shareQuery(name: $name, visibility: $visibility, bodies: $bodies) { visibility } }',
          { name: query.name, visibility: visibility.value, bodies: bodies.value.split(',').map((b) => b.trim()).filter(Boolean) });
        route();
        announce(t('saved'));
      } catch (e) {
        message.replaceChildren(errorBox(e));
      }
    });
    const archive = h('button', { type: 'button', class: 'secondary', id: 'archive', onclick: async () => {
      if (!window.confirm(t('archive.confirm', { title: query.title }))) return;
      try {
        await graphql('mutation ConsoleArchiveQuery($name: String!) { archiveQuery(name: $name) { archived } }', { name: query.name });
        navigate('#/queries');
      } catch (e) {
        message.replaceChildren(errorBox(e));
      }
    } }, t('archive'));
    return h('div', {}, share, archive, message);
  }

  // ---- Auditors: the access log --------------------------------------------------

  const EVENT_FIELDS = `id eventId occurredAt requestId traceId subject roles bodies clientAddress
    operationType operationName documentHash savedQueryId savedQueryVersion variablesHash
    subgraphs fields clientIds rowCount suppressedCells decision policies status errorCodes
    durationMicros hash`;

  const AUDIT_EVENTS = `query ConsoleAuditEvents($filter: AuditFilter, $first: Int, $after: ID) {
  auditEvents(filter: $filter, first: $first, after: $after) { ${EVENT_FIELDS} }
}`;

  const CLIENT_ACCESSES = `query ConsoleClientAccesses($id: ID!, $first: Int, $after: ID) {
  accessesToClient(id: $id, first: $first, after: $after) { ${EVENT_FIELDS} }
}`;

  const FILTERS = ['client', 'subject', 'body', 'operation', 'decision', 'from', 'to'];
  const LOG_PAGE = 50;

  function filterOf(parameters) {
    const filter = {};
    for (const name of FILTERS) {
      const value = parameters.get(name);
      if (!value) continue;
      filter[name] = name === 'from' || name === 'to' ? new Date(value).toISOString() : value;
    }
    return filter;
  }

  function eventRows(events) {
    return events.map((e) => [
      h('a', { href: `#/audit/event/${e.id}` }, e.id),
      e.occurredAt.replace('T', ' ').slice(0, 19),
      e.subject || '–',
      e.bodies.join(', '),
      e.operationName || e.savedQueryId || e.operationType || '–',
      valueLabel('decision', e.decision),
      String(e.status),
      String(e.rowCount),
      String(e.clientIds.length),
    ]);
  }

  const EVENT_HEADER = () => [t('event'), t('time'), t('subject'), t('bodies'), t('operation'), t('decision'), t('status'), t('rows'), t('clients')];

  function eventsCsv(events) {
    const columns = ['id', 'eventId', 'occurredAt', 'subject', 'roles', 'bodies', 'operationType', 'operationName',
      'savedQueryId', 'savedQueryVersion', 'decision', 'status', 'rowCount', 'suppressedCells', 'clientIds', 'fields', 'hash'];
    return toCsv(columns, events.map((e) => columns.map((c) => (Array.isArray(e[c]) ? e[c].join(' ') : e[c]))));
  }

  /** The filtered range, page by page, for its CSV: at most `limit` events. */
  async function wholeRange(filter, limit) {
    const events = [];
    let after = null;
    while (events.length < limit) {
      const page = (await graphql(AUDIT_EVENTS, { filter, first: 1000, after })).auditEvents;
      events.push(...page);
      if (page.length < 1000) break;
      after = page[page.length - 1].id;
    }
    return events.slice(0, limit);
  }

  async function auditView(parameters) {
    const title = t('audit');
    const filter = filterOf(parameters);
    const after = parameters.get('after');
    const form = h('form', { class: 'filters', id: 'audit-filters' },
      FILTERS.map((name) => {
        const id = `filter-${name}`;
        let input;
        if (name === 'decision') {
          input = h('select', { id, name }, h('option', { value: '' }, t('any')),
            ['ALLOWED', 'PARTIAL', 'REFUSED', 'FAILED'].map((d) => h('option', { value: d, selected: parameters.get(name) === d }, valueLabel('decision', d))));
        } else {
          input = h('input', { id, name, type: name === 'from' || name === 'to' ? 'datetime-local' : 'text', value: parameters.get(name) || '' });
        }
        return h('div', { class: 'field' }, h('label', { for: id }, t(`filter.${name}`)), input);
      }),
      h('button', { type: 'submit' }, t('filter')));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const p = new URLSearchParams();
      for (const name of FILTERS) if (form.elements[name].value) p.set(name, form.elements[name].value);
      navigate(`#/audit?${p}`);
    });
    show(title, h('p', { class: 'lead' }, t('audit.lead')), form, loading());
    let events;
    try {
      events = (await graphql(AUDIT_EVENTS, { filter, first: LOG_PAGE, after })).auditEvents;
    } catch (e) {
      return show(title, form, errorBox(e));
    }
    const next = new URLSearchParams(parameters);
    const last = events[events.length - 1];
    if (last) next.set('after', last.id);
    const first = new URLSearchParams(parameters);
    first.delete('after');
    const exportButton = h('button', { type: 'button', class: 'secondary', id: 'export-csv', onclick: async (event) => {
      const button = event.currentTarget;
      button.disabled = true;
      try {
        const range = await wholeRange(filter, 100000);
        button.replaceWith(downloadLink(t('download.range', { events: number(range.length) }), 'access-log.csv', eventsCsv(range)));
      } catch (e) {
        button.replaceWith(errorBox(e));
      }
    } }, t('export'));
    show(title, h('p', { class: 'lead' }, t('audit.lead')), chainCheck(), form,
      events.length ? table(t('events'), EVENT_HEADER(), eventRows(events), [true, false, false, false, false, false, true, true, true]) : h('p', {}, t('events.none')),
      h('div', { class: 'pager' },
        after ? h('a', { class: 'button secondary', href: `#/audit?${first}` }, t('page.first')) : null,
        events.length === LOG_PAGE ? h('a', { class: 'button secondary', href: `#/audit?${next}`, rel: 'next' }, t('page.next')) : null),
      exportButton);
  }

  const AUDIT_CHAIN = `query ConsoleAuditChain {
  auditChain { intact eventsChecked lastEvent brokenAt brokenEventId reason verifiedAt }
}`;

  /** The chain's verification, on demand: it reads every event of the log. */
  function chainCheck() {
    const verdict = h('div', { id: 'chain-verdict', 'aria-live': 'polite' });
    const button = h('button', { type: 'button', class: 'secondary', id: 'verify-chain', onclick: async () => {
      button.disabled = true;
      verdict.replaceChildren(loading());
      try {
        const chain = (await graphql(AUDIT_CHAIN)).auditChain;
        verdict.replaceChildren(chain.intact
          ? h('p', { class: 'verdict-ok' }, t('chain.intact', { events: number(chain.eventsChecked), last: chain.lastEvent || '–', at: chain.verifiedAt }))
          : h('p', { class: 'error', role: 'alert' }, t('chain.broken', { event: chain.brokenAt, reason: chain.reason, at: chain.verifiedAt })));
      } catch (e) {
        verdict.replaceChildren(errorBox(e));
      }
      button.disabled = false;
    } }, t('chain.verify'));
    return h('div', { class: 'pager' }, button, verdict);
  }

  async function eventView(id) {
    const title = t('event.title', { id });
    show(title, loading());
    let events;
    try {
      const before = Number(id) - 1;
      events = (await graphql(AUDIT_EVENTS, { first: 1, after: before > 0 ? String(before) : null })).auditEvents;
    } catch (e) {
      return show(title, errorBox(e));
    }
    const event = events.find((e) => e.id === id);
    if (!event) return show(title, h('p', {}, t('event.none')));
    const rows = Object.entries(event).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') || '–' : value ?? '–']);
    show(title, h('dl', { class: 'details' }, rows.flatMap(([name, value]) => [h('dt', {}, name), h('dd', {}, String(value))])),
      h('p', {}, h('a', { href: '#/audit' }, t('back.audit'))));
  }

  async function clientView(parameters) {
    const title = t('client');
    const client = parameters.get('id') || '';
    const form = h('form', { class: 'filters' },
      h('div', { class: 'field' }, h('label', { for: 'client-id' }, t('client.id')), h('input', { id: 'client-id', name: 'id', value: client, required: true })),
      h('button', { type: 'submit' }, t('client.find')));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      navigate(`#/audit/client?${new URLSearchParams({ id: form.elements.id.value.trim() })}`);
    });
    if (!client) return show(title, h('p', { class: 'lead' }, t('client.lead')), form);
    show(title, form, loading());
    try {
      const events = (await graphql(CLIENT_ACCESSES, { id: client, first: 1000 })).accessesToClient;
      show(title, h('p', { class: 'lead' }, t('client.lead')), form,
        events.length ? table(t('client.events', { id: client }), EVENT_HEADER(), eventRows(events)) : h('p', {}, t('client.none')),
        events.length ? downloadLink(t('download.csv'), `accesses-${client}.csv`, eventsCsv(events)) : null);
    } catch (e) {
      show(title, form, errorBox(e));
    }
  }

  // ---- GraphiQL ------------------------------------------------------------------

  function loadScript(src) {
    return new Promise((resolve, reject) => {
      if (document.querySelector(`script[src="${src}"]`)) return resolve();
      const script = h('script', { src });
      script.addEventListener('load', resolve);
      script.addEventListener('error', () => reject(new HubError(t('error.load', { src }))));
      document.body.append(script);
    });
  }

  /** Names GraphiQL's editors for screen readers and lets a keyboard reach their
   * scrolling areas, which GraphiQL leaves unnamed and unreachable, as it draws them. */
  function labelEditors(root) {
    const names = [
      ['.graphiql-query-editor', 'editor.query'],
      ['.graphiql-editor-tool .graphiql-editor:not(.hidden)', 'editor.tool'],
      ['.result-window', 'editor.response'],
    ];
    const label = () => {
      for (const [selector, key] of names) {
        for (const area of root.querySelectorAll(`${selector} textarea:not([aria-label])`)) {
          area.setAttribute('aria-label', t(key));
        }
      }
      for (const area of root.querySelectorAll('textarea:not([aria-label])')) area.setAttribute('aria-label', t('editor.tool'));
      for (const scroll of root.querySelectorAll('.CodeMirror-scroll:not([tabindex="0"])')) scroll.setAttribute('tabindex', '0');
    };
    new MutationObserver(label).observe(root, { childList: true, subtree: true });
  }

  /** The header editor's start: the token, and for those who read person-level data
   * (officers, partners) an empty purpose. */
  function graphiqlHeaders() {
    const roles = (session.principal && session.principal.roles) || [];
    return roles.includes('officer') || roles.includes('partner')
      ? { ...authorization(), 'Kotohub-Purpose': '' }
      : authorization();
  }

  /** GraphiQL in the console, with the user's token in its header editor. Its storage is
   * this page's memory, so neither the token nor the queries reach local storage. */
  async function graphiqlView() {
    show(t('nav.graphiql'), loading());
    const base = '/graphiql/3.9.0';
    if (!document.querySelector(`link[href="${base}/graphiql.min.css"]`)) {
      document.head.append(h('link', { rel: 'stylesheet', href: `${base}/graphiql.min.css` }));
    }
    try {
      for (const file of ['react.production.min.js', 'react-dom.production.min.js', 'graphiql.min.js']) {
        await loadScript(`${base}/${file}`);
      }
    } catch (e) {
      return show(t('nav.graphiql'), errorBox(e));
    }
    const memory = new Map();
    const storage = {
      getItem: (key) => (memory.has(key) ? memory.get(key) : null),
      setItem: (key, value) => memory.set(key, String(value)),
      removeItem: (key) => memory.delete(key),
      clear: () => memory.clear(),
      get length() { return memory.size; },
    };
    const root = h('div', { id: 'graphiql-root' });
    const view = main();
    view.classList.add('wide');
    view.replaceChildren(h('h1', { class: 'visually-hidden', id: 'view-title' }, t('nav.graphiql')), root);
    document.title = `${t('nav.graphiql')} – Kotohub`;
    labelEditors(root);
    ReactDOM.createRoot(root).render(React.createElement(GraphiQL, {
      forcedTheme: 'light',
      fetcher: GraphiQL.createFetcher({ url: '/graphql' }),
      // An officer's reads of person-level data state a purpose: the header is there to fill.
      defaultHeaders: JSON.stringify(graphiqlHeaders(), null, 2),
      defaultQuery: '# The programme\'s themes and sets: run it with the button or Ctrl-Enter.\nquery Themes {\n  themes {\n    number\n    title\n    measureSets { id title }\n  }\n}\n',
      shouldPersistHeaders: false,
      storage,
    }));
  }

  // ---- Routing -------------------------------------------------------------------

  function forbidden() {
    show(t('forbidden'), h('p', {}, t('forbidden.text')));
  }

  function allowed(hash) {
    return sections().some((s) => hash === s.hash || hash.startsWith(`${s.hash}/`) || hash.startsWith(`${s.hash}?`));
  }

  /** Shows the view the URL names; marks the main region with that URL once the view
   * stands, so that tests and assistive tools know when it is complete. */
  // Views render one after another: a slow view still loading when the reader moves on
  // would otherwise draw itself over the newer one when its data arrives.
  let routing = Promise.resolve();

  function route() {
    routing = routing.then(routeOnce, routeOnce);
    return routing;
  }

  async function routeOnce() {
    const hash = location.hash || '#/';
    delete main().dataset.ready;
    await routeTo(hash);
    if ((location.hash || '#/') === hash) main().dataset.ready = hash;
  }

  async function routeTo(hash) {
    renderHeader();
    if (!session.token || (session.expiresAt && Date.now() > session.expiresAt)) {
      session.token = null;
      session.principal = null;
      renderHeader();
      return signInView();
    }
    const [path, query] = hash.split('?');
    const parameters = new URLSearchParams(query || '');
    const parts = path.slice(2).split('/').map(decodeURIComponent);
    if (path === '#/' || path === '#') {
      const start = sections()[0];
      if (start) return navigate(start.hash);
      return forbidden();
    }
    const section = parts[0] === 'measure' ? '#/programme' : parts[0] === 'audit' && parts[1] === 'event' ? '#/audit' : `#/${parts[0]}${parts[0] === 'audit' && parts[1] === 'client' ? '/client' : ''}`;
    if (!allowed(section)) return forbidden();
    try {
      switch (parts[0]) {
        case 'programme': return await programmeView();
        case 'measure': return await measureView(parts[1], parts[2] === 'quarters' ? 'QUARTER' : 'YEAR');
        case 'queries': return parts[1] ? await queryView(parts[1], parts[2] ? Number(parts[2]) : null) : await queriesView();
        case 'indicators': return parts[1] ? await indicatorView(parts[1]) : await indicatorsView();
        case 'audit':
          if (parts[1] === 'event') return await eventView(parts[2]);
          if (parts[1] === 'client') return await clientView(parameters);
          return await auditView(parameters);
        case 'graphiql': return await graphiqlView();
        default: return show(t('notFound'), h('p', {}, t('notFound.text')));
      }
    } catch (e) {
      main().append(errorBox(e));
    }
  }

  async function start() {
    const picker = document.getElementById('language');
    picker.value = session.language;
    picker.addEventListener('change', () => {
      session.language = picker.value;
      route();
    });
    window.addEventListener('hashchange', () => {
      focusViews = true;
      route();
    });
    try {
      const response = await fetch('/console/sign-in.json');
      session.signIn = await response.json();
      if (session.signIn.mode === 'oidc' && await oidcReturn(session.signIn)) return;
    } catch (e) {
      renderHeader();
      show(t('signIn'), errorBox(e));
      return;
    }
    route();
  }

  // For the browser tests and for people at the console's developer tools: what the page
  // would download, without a download.
  window.KotohubConsole = { parseCsv, toCsv };

  start();
})();
