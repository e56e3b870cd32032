// As-you-type for the citizens' search page (/search, web/templates/search.html).
// The page works without this file: the form is a plain GET and the server renders the
// results. Here the same server-rendered page is fetched while the citizen types and its
// results (#results) and count (#search-status, a polite live region) are moved into
// this page: one rendering, escaped by the server's templates; no markup is built from
// text here.
(function () {
  'use strict';
  const form = document.getElementById('search-form');
  const input = document.getElementById('q');
  const results = document.getElementById('results');
  const status = document.getElementById('search-status');
  if (!form || !input || !results || !status || !window.fetch || !window.DOMParser) return;

  let timer = 0;
  let latest = 0;

  function pageUrl(query) {
    return query.trim() ? `${form.action}?q=${encodeURIComponent(query)}` : form.action;
  }

  async function refresh() {
    const query = input.value;
    const asked = ++latest;
    let html;
    try {
      const response = await fetch(pageUrl(query), { headers: { Accept: 'text/html' } });
      html = await response.text();
    } catch (error) {
      return; // offline: the form still submits
    }
    if (asked !== latest) return; // a newer query is on its way
    const fresh = new DOMParser().parseFromString(html, 'text/html');
    const freshResults = fresh.getElementById('results');
    const freshStatus = fresh.getElementById('search-status');
    if (!freshResults || !freshStatus) return;
    const nodes = Array.from(freshResults.childNodes); // a copy: adopting empties the live list
    results.replaceChildren(...nodes.map((node) => document.adoptNode(node)));
    status.textContent = freshStatus.textContent;
    document.title = fresh.title;
    history.replaceState(null, '', pageUrl(query));
  }

  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  });
})();
