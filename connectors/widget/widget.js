/*
 * 一网通办 智能客服 — web chat widget.
 *
 * Embed with one tag on any page (no build step, no framework, no third-party origin):
 *
 *   <script src="https://DEPLOYMENT:8800/widget/widget.js" defer
 *           data-rasa-url="https://DEPLOYMENT:5005" data-title="一网通办智能客服"></script>
 *
 * It talks to Rasa's socket.io channel (user_uttered / bot_uttered, session_request /
 * session_confirm, session_persistence: true). The conversation survives reloads: the
 * session id and a bounded copy of the transcript live in localStorage, because Rasa
 * does not send history back. Everything the bot sends is rendered as text nodes (never
 * innerHTML); only http(s) links (with a short label) and the 12345 hotline (tel:) become
 * anchors. Matter cards (`custom.type == "matter_card"`, docs/answer-cards.md) are built
 * from their parts, also as DOM nodes. See docs/widget.md.
 */
(function () {
  'use strict';

  // currentScript is the tag being run; the fallback serves loaders that lose it
  const script =
    document.currentScript || document.querySelector('script[src*="/widget/widget.js"]');
  if (!script || window.__govbotWidget) return; // loaded twice: keep the first

  const WIDGET_VERSION = '1';
  const SOCKET_IO_FILE = 'vendor/socket.io-4.8.4.min.js';
  const MAX_INPUT = 400; // the NLU reads at most 400 characters (bot/text.py)
  const MAX_ENTRIES = 200; // transcript kept in localStorage ...
  const MAX_STORED_CHARS = 200000; // ... and at most this much JSON (storage is shared with the portal)
  const TRANSCRIPT_TTL_MS = 24 * 3600 * 1000; // an idle day later, start afresh (shared computers)
  const ACK_TIMEOUT_MS = 60000; // Rasa acknowledges a message when its whole turn is done
  const URL_PATTERN =
    /\[([^\]\n]{1,200})\]\((https?:\/\/[^\s)]+)\)|https?:\/\/[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]+/g;
  const HOTLINE = '12345'; // the city's government service hotline: tappable wherever it is said
  const CARD_TYPE = 'matter_card';
  const CARD_VERSION = 1;
  const CARD_TAGS = { 免提交: 'held', 需提交: 'required', 非必需: 'optional' };
  const QUEUE_TYPE = 'handoff_queue'; // the desk's queue updates (bot/handoff/waiting.py)
  const WORK_ORDER = /GD-\d{8}-\d{3,5}/g; // a work order number: never broken across lines
  const OFFLINE_NOTICE_MS = 15000; // unreachable this long: say what else the citizen can do
  const PHONE_LAYOUT = '(max-width: 600px)'; // the panel covers the page (widget.css)

  const TEXT = {
    title: '一网通办智能客服',
    open: '打开在线客服',
    openUnread: '打开在线客服（有新消息）',
    close: '关闭对话窗口',
    clear: '结束对话并清除本机记录',
    clearShort: '清除记录',
    clearConfirm: '清除本机上的对话记录并开始新对话？',
    log: '对话记录',
    input: '输入您的问题',
    placeholder: '请输入您的问题，按 Enter 发送，Shift+Enter 换行',
    send: '发送',
    you: '您：',
    bot: '智能客服：',
    agent: '人工客服',
    quick: '快捷回复',
    typing: '客服正在输入…',
    welcome: '您好，我是一网通办智能客服。可以问我办事要带什么材料、多久办好、去哪里办，也可以转人工。',
    // what the welcome suggests asking (sent as typed text: the NLU reads them like any question)
    suggestions: ['居住证要带什么材料', '开便利店要办哪些证', '查办件进度', '转人工'],
    suggested: '可以这样问',
    connecting: '正在连接…',
    online: '在线',
    reconnecting: '重新连接中…',
    unavailable: '暂时无法连接客服，正在重试…',
    pending: '等待连接后发送',
    failed: '发送失败',
    resend: '重发',
    tooLong: `最多输入${MAX_INPUT}个字`,
    image: '客服发送的图片',
    unsupported: '（此消息暂不支持显示）',
    checklist: '材料清单',
    facts: '办理信息',
    actions: '办理入口',
    chips: '接着问',
    queued: '排队等待人工',
    withAgent: '人工客服接待中',
    queueNext: '您是下一位',
    queueAhead: (n) => `前面还有${n}位`,
    queueMinutes: (m) => `预计约${m}分钟`,
    queueCancel: '取消排队',
    queueCancelWord: '取消',
    delivered: '已转给工作人员',
    offline: '暂时连不上客服，已发的消息会在连上后自动发出。着急的话请拨打 12345 市民服务热线。',
  };

  // ---------------------------------------------------------------- configuration
  const scriptUrl = new URL(script.src, location.href);
  const config = {
    base: new URL('.', scriptUrl).href,
    // the web app that serves the widget (/widget/widget.js): card links such as
    // /guide/{code} are its pages
    webRoot: new URL('../', scriptUrl).href,
    rasaUrl: script.dataset.rasaUrl || `${scriptUrl.protocol}//${scriptUrl.hostname}:5005`,
    title: script.dataset.title || TEXT.title,
    storageKey: script.dataset.storageKey || 'govbot-widget',
  };

  // ---------------------------------------------------------------- pure helpers
  /** An absolute http(s) URL, or null: javascript:, data: and the like never become links. */
  function safeUrl(raw) {
    try {
      const url = new URL(String(raw), location.href);
      return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
    } catch (_) {
      return null;
    }
  }

  /** A web app path (/guide/SH-P-001) as an address on the web app; http(s) as it is. */
  function cardUrl(raw) {
    const text = String(raw || '');
    if (/^\/[^\s/\\]/.test(text)) return safeUrl(new URL(text.slice(1), config.webRoot).href);
    return /^https?:\/\//.test(text) ? safeUrl(text) : null;
  }

  /** What a bare address is called in a message: its host ("zwdt.sh.gov.cn"), not a dump. */
  function shortLabel(href) {
    try {
      return new URL(href).hostname.replace(/^www\./, '');
    } catch (_) {
      return href;
    }
  }

  /** Plain text with the hotline (12345, not inside a longer number) as tel: parts. */
  function hotlineParts(text) {
    return workOrderParts(text).flatMap((part) => (part.nowrap ? [part] : hotlineOnly(part.text)));
  }

  /** Work order numbers as parts of their own (shown unbroken: GD-20261206-0003). */
  function workOrderParts(text) {
    const parts = [];
    let last = 0;
    for (const match of text.matchAll(WORK_ORDER)) {
      if (match.index > last) parts.push({ text: text.slice(last, match.index) });
      parts.push({ text: match[0], nowrap: true });
      last = match.index + match[0].length;
    }
    if (last < text.length) parts.push({ text: text.slice(last) });
    return parts;
  }

  function hotlineOnly(text) {
    const parts = [];
    let last = 0;
    let at = text.indexOf(HOTLINE);
    while (at !== -1) {
      const end = at + HOTLINE.length;
      if (!/[0-9A-Za-z]/.test(text.charAt(at - 1)) && !/[0-9]/.test(text.charAt(end))) {
        if (at > last) parts.push({ text: text.slice(last, at) });
        parts.push({ text: HOTLINE, href: `tel:${HOTLINE}` });
        last = end;
      }
      at = text.indexOf(HOTLINE, end);
    }
    if (last < text.length) parts.push({ text: text.slice(last) });
    return parts;
  }

  /**
   * Splits bot text into plain and link parts: [title](url), bare http(s) URLs (shown by
   * their host) and the 12345 hotline (tel:).
   */
  function textParts(text) {
    const parts = [];
    let last = 0;
    const plain = (chunk) => parts.push(...hotlineParts(chunk));
    for (const match of text.matchAll(URL_PATTERN)) {
      let [whole, label, href] = match;
      if (!href) {
        // a bare URL: punctuation right after it belongs to the sentence
        href = whole.replace(/[.,;:!?'")\]]+$/, '');
        whole = href;
      }
      const url = safeUrl(href);
      if (match.index > last) plain(text.slice(last, match.index));
      if (url) parts.push({ text: label || shortLabel(url), href: url, title: label ? null : url });
      else plain(whole);
      last = match.index + whole.length;
    }
    if (last < text.length) plain(text.slice(last));
    return parts;
  }

  const str = (value, max) => (typeof value === 'string' ? value.slice(0, max) : '');
  const list = (value, max) => (Array.isArray(value) ? value.slice(0, max) : []);

  function cardMaterial(m) {
    if (!m || typeof m !== 'object' || !str(m.name, 120)) return null;
    const count = Number.isInteger(m.count) && m.count > 0 && m.count < 100 ? m.count : 1;
    return {
      name: str(m.name, 120), form: str(m.form, 12), count,
      tag: CARD_TAGS[m.tag] ? m.tag : '需提交', note: str(m.note, 600),
    };
  }

  /**
   * A matter card as the widget keeps and shows it: only the known fields, each of its
   * kind and bounded (the stored transcript holds it); null when it is not a card of a
   * version we know (the message's text is shown instead).
   */
  function matterCard(custom) {
    if (!custom || custom.type !== CARD_TYPE || custom.version !== CARD_VERSION) return null;
    const title = str(custom.title, 120);
    if (!title) return null;
    const materials = (items) => list(items, 8).map(cardMaterial).filter(Boolean);
    return {
      title,
      summary: str(custom.summary, 600),
      materials: materials(custom.materials),
      more: str(custom.more, 120),
      scenarios: list(custom.scenarios, 4)
        .filter((s) => s && str(s.name, 120))
        .map((s) => ({
          name: str(s.name, 120), description: str(s.description, 600), open: s.open === true,
          materials: materials(s.materials),
        })),
      facts: list(custom.facts, 6)
        .filter((f) => f && str(f.label, 12) && str(f.value, 600))
        .map((f) => ({ label: str(f.label, 12), value: str(f.value, 600) })),
      actions: list(custom.actions, 4).map((a) => {
        if (!a || !str(a.title, 12)) return null;
        if (a.type === 'call' && /^[0-9][0-9-]{2,19}$/.test(String(a.number))) {
          return { title: str(a.title, 12), href: `tel:${a.number}` };
        }
        const href = a.type === 'link' ? cardUrl(a.url) : null;
        return href ? { title: str(a.title, 12), href } : null;
      }).filter(Boolean),
      chips: list(custom.chips, 7)
        .filter((c) => c && str(c.title, 20) && str(c.payload, MAX_INPUT))
        .map((c) => ({ title: str(c.title, 20), payload: str(c.payload, MAX_INPUT) })),
    };
  }

  /** The desk's queue update ({type: handoff_queue, state, place, minutes, delivered}), or null. */
  function queueUpdate(data) {
    const custom = data && typeof data === 'object' && data.custom && typeof data.custom === 'object'
      ? data.custom : null;
    if (!custom || custom.type !== QUEUE_TYPE) return null;
    const states = ['waiting', 'accepted', 'ended', 'cancelled'];
    const int = (v) => (Number.isInteger(v) && v >= 0 && v < 10000 ? v : 0);
    return {
      state: states.includes(custom.state) ? custom.state : 'ended',
      place: int(custom.place), minutes: int(custom.minutes), delivered: int(custom.delivered),
    };
  }

  /**
   * Rasa's socket.io output (text, quick_replies, attachment) or a handoff message → entry;
   * null for a typed payload alone that the widget has no view for (e.g. handoff_queue):
   * such payloads are signals for clients that know them, not messages.
   */
  function botEntry(data) {
    const message = data && typeof data === 'object' ? data : { text: String(data || '') };
    const custom = message.custom && typeof message.custom === 'object' ? message.custom : null;
    if (custom && typeof custom.type === 'string' && !matterCard(custom) && !message.text &&
        !message.attachment && !message.image && !message.quick_replies && !message.buttons) {
      return null;
    }
    const buttons = Array.isArray(message.quick_replies)
      ? message.quick_replies
      : Array.isArray(message.buttons) ? message.buttons : [];
    const attachment = message.attachment || {};
    const image =
      attachment.type === 'image' && attachment.payload ? attachment.payload.src : message.image;
    const metadata = message.metadata && typeof message.metadata === 'object' ? message.metadata : {};
    const agent = metadata.agent_name || (metadata.agent && metadata.agent.name) || '';
    const entry = {
      from: 'bot',
      text: typeof message.text === 'string' ? message.text : '',
      quickReplies: buttons
        .filter((b) => b && (b.title || b.payload))
        .slice(0, 12)
        .map((b) => ({ title: String(b.title || b.payload), payload: String(b.payload || b.title) })),
    };
    const card = matterCard(message.custom);
    if (card) {
      // the card is the answer (its text is for channels without cards); its chips are
      // the follow-up questions, so the same buttons are not shown twice
      entry.card = card;
      entry.text = '';
      if (card.chips.length) entry.quickReplies = [];
    }
    if (image && safeUrl(image)) entry.image = safeUrl(image);
    if (agent) entry.agent = String(agent).slice(0, 40);
    if (!entry.text && !entry.card && !entry.image && !entry.quickReplies.length) entry.text = TEXT.unsupported;
    return entry;
  }

  /** Keeps the newest entries within the count and size bounds. */
  function bounded(entries) {
    let kept = entries.slice(-MAX_ENTRIES);
    while (kept.length > 1 && JSON.stringify(kept).length > MAX_STORED_CHARS) {
      kept = kept.slice(Math.ceil(kept.length / 4));
    }
    return kept;
  }

  // ---------------------------------------------------------------- persistence
  const memory = {};
  const storage = {
    read() {
      let raw = null;
      try {
        raw = window.localStorage.getItem(config.storageKey);
      } catch (_) {
        raw = memory[config.storageKey] || null; // storage disabled: this page only
      }
      try {
        const state = JSON.parse(raw);
        if (!state || state.v !== 1 || !Array.isArray(state.entries)) return null;
        if (Date.now() - (state.updated || 0) > TRANSCRIPT_TTL_MS) return null;
        return state;
      } catch (_) {
        return null;
      }
    },
    write(state) {
      const raw = JSON.stringify({ ...state, entries: bounded(state.entries), v: 1, updated: Date.now() });
      try {
        window.localStorage.setItem(config.storageKey, raw);
      } catch (_) {
        memory[config.storageKey] = raw; // quota or disabled: keep it for this page at least
      }
    },
    clear() {
      try {
        window.localStorage.removeItem(config.storageKey);
      } catch (_) {
        delete memory[config.storageKey];
      }
    },
  };

  const saved = storage.read();
  const state = {
    sessionId: saved ? saved.sessionId || null : null,
    open: saved ? Boolean(saved.open) : false,
    unread: saved ? Boolean(saved.unread) : false,
    nextId: saved ? saved.nextId || 1 : 1,
    entries: saved ? saved.entries : [],
    // the wait for a person (null: none) and who answers: 'bot' or 'agent'
    queue: saved && saved.queue && typeof saved.queue === 'object' ? saved.queue : null,
    mode: saved && saved.mode === 'agent' ? 'agent' : 'bot',
  };
  // A message that was being sent when the page went away may or may not have arrived.
  for (const entry of state.entries) {
    if (entry.status === 'sending') entry.status = 'failed';
  }
  const save = () => storage.write(state);

  // ---------------------------------------------------------------- DOM
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === false || value === null || value === undefined) continue;
      if (name === 'text') node.textContent = value;
      else if (name === 'class') node.className = value;
      else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? '' : value);
    }
    for (const child of children || []) if (child) node.append(child);
    return node;
  }

  const host = el('div', { id: 'govbot-widget', 'data-govbot-widget': WIDGET_VERSION });
  host.style.display = 'none'; // until the stylesheet is in, so nothing flashes unstyled
  const root = host.attachShadow({ mode: 'open' }); // the portal's CSS cannot reach in
  const stylesheet = el('link', { rel: 'stylesheet', href: `${config.base}widget.css?v=${WIDGET_VERSION}` });
  stylesheet.addEventListener('load', () => (host.style.display = ''));
  stylesheet.addEventListener('error', () => (host.style.display = ''));

  const launcher = el('button', {
    type: 'button', class: 'gw-launcher', 'aria-haspopup': 'dialog', 'aria-expanded': 'false',
    'aria-controls': 'gw-panel', 'aria-label': TEXT.open,
  }, [el('span', { class: 'gw-launcher-icon', 'aria-hidden': 'true' }),
    el('span', { class: 'gw-launcher-text', text: '在线客服' }),
    el('span', { class: 'gw-badge', 'aria-hidden': 'true' })]);

  const titleId = 'gw-title';
  const statusLine = el('span', { class: 'gw-status', role: 'status', 'data-state': 'idle' });
  const clearButton = el('button', {
    type: 'button', class: 'gw-icon-button gw-clear', 'aria-label': TEXT.clear, title: TEXT.clear,
  }, [el('span', { 'aria-hidden': 'true', text: TEXT.clearShort })]);
  const closeButton = el('button', {
    type: 'button', class: 'gw-icon-button gw-close', 'aria-label': TEXT.close, title: TEXT.close,
  }, [el('span', { 'aria-hidden': 'true', text: '×' })]);
  const log = el('div', {
    class: 'gw-log', role: 'log', 'aria-live': 'polite', 'aria-relevant': 'additions',
    'aria-label': TEXT.log, tabindex: '0',
  });
  const typing = el('div', { class: 'gw-typing', hidden: true }, [
    el('span', { class: 'gw-dots', 'aria-hidden': 'true' }, [el('i'), el('i'), el('i')]),
    el('span', { class: 'gw-sr', text: TEXT.typing }),
  ]);
  const typingStatus = el('div', { class: 'gw-sr', role: 'status' });
  const queueText = el('span', { class: 'gw-queue-text' });
  const queueCancel = el('button', { type: 'button', class: 'gw-queue-cancel', text: TEXT.queueCancel });
  const queueBar = el('div', { class: 'gw-queue', role: 'status', hidden: true }, [queueText, queueCancel]);
  const offlineNotice = el('div', { class: 'gw-offline', role: 'alert', hidden: true });
  const scroller = el('div', { class: 'gw-scroll' }, [log, typing]);
  const hint = el('div', { id: 'gw-hint', class: 'gw-hint', 'aria-live': 'polite' });
  const input = el('textarea', {
    class: 'gw-input', rows: '1', maxlength: String(MAX_INPUT), 'aria-label': TEXT.input,
    'aria-describedby': 'gw-hint', placeholder: TEXT.placeholder, enterkeyhint: 'send',
  });
  const sendButton = el('button', { type: 'submit', class: 'gw-send', 'aria-label': TEXT.send, text: TEXT.send });
  const form = el('form', { class: 'gw-form', novalidate: true }, [input, sendButton]);
  const panel = el('div', {
    id: 'gw-panel', class: 'gw-panel', role: 'dialog', 'aria-modal': 'false',
    'aria-labelledby': titleId, hidden: true,
  }, [
    el('div', { class: 'gw-header' }, [
      el('div', { class: 'gw-heading' }, [el('h2', { id: titleId, class: 'gw-title', text: config.title }), statusLine]),
      clearButton, closeButton,
    ]),
    queueBar, offlineNotice, scroller, typingStatus, form, hint,
  ]);
  root.append(stylesheet, launcher, panel);

  // ---------------------------------------------------------------- rendering
  /** A link: http(s) in a new tab (without our page as opener or referrer); tel: as it is. */
  function link(href, text, attrs) {
    const web = /^https?:/.test(href);
    return el('a', {
      href, text, title: web && attrs && attrs.title ? attrs.title : null,
      target: web ? '_blank' : null, rel: web ? 'noopener noreferrer' : null,
      class: attrs && attrs.class ? attrs.class : null,
    });
  }

  function appendText(parent, text) {
    for (const part of textParts(text)) {
      if (part.href) parent.append(link(part.href, part.text, { title: part.title }));
      else if (part.nowrap) parent.append(el('span', { class: 'gw-nowrap', text: part.text }));
      else parent.append(document.createTextNode(part.text));
    }
  }

  let cardIds = 0;

  function checklist(materials, label) {
    return el('ul', { class: 'gw-checklist', 'aria-label': label }, materials.map((m) => el('li', {
      class: 'gw-item',
    }, [
      el('span', { class: `gw-tag gw-tag-${CARD_TAGS[m.tag]}`, text: m.tag }),
      el('span', { class: 'gw-item-body' }, [
        el('span', { class: 'gw-item-name', text: m.name }),
        el('span', { class: 'gw-item-meta', text: `${m.form}${m.count}份` }),
        m.note ? el('span', { class: 'gw-item-note', text: m.note }) : null,
      ]),
    ])));
  }

  /** A matter card: title, checklist with tags, situations, facts, links, follow-ups. */
  function cardNode(card) {
    const titleId = `gw-card-${++cardIds}`;
    const node = el('div', { class: 'gw-card', role: 'group', 'aria-labelledby': titleId }, [
      el('h3', { id: titleId, class: 'gw-card-title', text: card.title }),
      card.summary ? el('p', { class: 'gw-card-summary', text: card.summary }) : null,
    ]);
    if (card.materials.length) node.append(checklist(card.materials, TEXT.checklist));
    if (card.more) node.append(el('p', { class: 'gw-card-more', text: card.more }));
    for (const s of card.scenarios) {
      node.append(el('details', { class: 'gw-scenario', open: s.open }, [
        el('summary', { text: s.materials.length ? `${s.name}：另需${s.materials.length}项` : s.name }),
        s.description ? el('p', { class: 'gw-scenario-text', text: s.description }) : null,
        s.materials.length ? checklist(s.materials, s.name) : null,
      ]));
    }
    if (card.facts.length) {
      node.append(el('dl', { class: 'gw-facts', 'aria-label': TEXT.facts }, card.facts.map((f) => el('div', {
        class: 'gw-fact',
      }, [el('dt', { text: f.label }), el('dd', { text: f.value })]))));
    }
    if (card.actions.length) {
      node.append(el('div', { class: 'gw-card-actions', role: 'group', 'aria-label': TEXT.actions },
        card.actions.map((a, i) => link(a.href, a.title, { class: i === 0 ? 'gw-action gw-action-main' : 'gw-action' }))));
    }
    if (card.chips.length) {
      node.append(el('div', { class: 'gw-chips', role: 'group', 'aria-label': TEXT.chips }, [
        el('span', { class: 'gw-chips-label', 'aria-hidden': 'true', text: `${TEXT.chips}：` }),
        ...card.chips.map((chip) => el('button', {
          type: 'button', class: 'gw-chip', text: chip.title,
          onclick: () => {
            send(chip.payload, chip.title);
            input.focus();
          },
        })),
      ]));
    }
    return node;
  }

  function quickReplies(entry) {
    return el('div', { class: 'gw-quick', role: 'group', 'aria-label': TEXT.quick },
      entry.quickReplies.map((button) => el('button', {
        type: 'button', class: 'gw-quick-button', text: button.title,
        onclick: () => {
          send(button.payload, button.title);
          input.focus(); // the button is gone with the reply: keep the keyboard user in the form
        },
      })));
  }

  function entryNode(entry, withQuickReplies) {
    const bubble = el('div', { class: 'gw-bubble' });
    const who = entry.from === 'user' ? TEXT.you : entry.agent ? `${TEXT.agent} ${entry.agent}：` : TEXT.bot;
    bubble.append(el('span', { class: 'gw-sr', text: who }));
    if (entry.text) appendText(bubble, entry.text);
    if (entry.card) {
      bubble.classList.add('gw-bubble-card');
      bubble.append(cardNode(entry.card));
    }
    if (entry.image) {
      bubble.append(el('a', { href: entry.image, target: '_blank', rel: 'noopener noreferrer', class: 'gw-image-link' }, [
        el('img', { src: entry.image, alt: TEXT.image, loading: 'lazy', referrerpolicy: 'no-referrer', class: 'gw-image' }),
      ]));
    }
    const node = el('div', {
      class: `gw-msg gw-${entry.from}${entry.agent ? ' gw-from-agent' : ''}`, 'data-entry': String(entry.id),
    }, [
      entry.agent ? el('div', { class: 'gw-sender', 'aria-hidden': 'true', text: `${TEXT.agent} · ${entry.agent}` }) : null,
      bubble,
      entry.ts ? el('time', { class: 'gw-time', datetime: new Date(entry.ts).toISOString(), text: clock(entry.ts) }) : null,
    ]);
    if (entry.from === 'user') node.append(deliveryNode(entry));
    if (withQuickReplies && entry.quickReplies && entry.quickReplies.length) node.append(quickReplies(entry));
    return node;
  }

  /** 'HH:MM', or 'M月D日 HH:MM' for another day. */
  function clock(ts) {
    const at = new Date(ts);
    const hm = `${String(at.getHours()).padStart(2, '0')}:${String(at.getMinutes()).padStart(2, '0')}`;
    return at.toDateString() === new Date().toDateString() ? hm : `${at.getMonth() + 1}月${at.getDate()}日 ${hm}`;
  }

  function deliveryNode(entry) {
    const box = el('div', { class: 'gw-delivery', 'data-status': entry.status || 'sent' });
    if (entry.status === 'pending') box.append(el('span', { text: TEXT.pending }));
    if (entry.delivered && entry.status !== 'failed') box.append(el('span', { text: `✓ ${TEXT.delivered}` }));
    if (entry.status === 'failed') {
      box.append(el('span', { text: TEXT.failed }), el('button', {
        type: 'button', class: 'gw-resend', text: TEXT.resend, 'aria-label': `${TEXT.resend}：${entry.text}`,
        onclick: () => {
          entry.status = 'pending';
          refreshDelivery(entry);
          save();
          flush();
          connect();
          input.focus();
        },
      }));
    }
    return box;
  }

  function refreshDelivery(entry) {
    const node = log.querySelector(`[data-entry="${entry.id}"] .gw-delivery`);
    if (node) node.replaceWith(deliveryNode(entry));
    updateTyping();
  }

  function renderAll() {
    log.textContent = '';
    const welcome = el('div', { class: 'gw-msg gw-bot gw-welcome' }, [el('div', { class: 'gw-bubble', text: TEXT.welcome })]);
    if (!state.entries.length) {
      // a first visit: questions to start with (gone with the first message, like any quick reply)
      welcome.append(el('div', { class: 'gw-quick', role: 'group', 'aria-label': TEXT.suggested },
        TEXT.suggestions.map((question) => el('button', {
          type: 'button', class: 'gw-quick-button', text: question,
          onclick: () => {
            send(question, question);
            input.focus();
          },
        }))));
    }
    log.append(welcome);
    let lastUser = -1;
    state.entries.forEach((entry, i) => { if (entry.from === 'user') lastUser = i; });
    state.entries.forEach((entry, i) => log.append(entryNode(entry, i > lastUser)));
    scrollToAnswer();
  }

  function scrollDown() {
    scroller.scrollTop = scroller.scrollHeight;
  }

  /**
   * Shows the newest answer from its top: to the bottom when the answer fits, else up to
   * where the bot's first message since the citizen's last one begins (a long answer,
   * a card, is read from its title, not from its end).
   */
  function scrollToAnswer() {
    scrollDown();
    const nodes = log.querySelectorAll('.gw-msg[data-entry]');
    let first = null;
    for (let i = nodes.length - 1; i >= 0 && !nodes[i].classList.contains('gw-user'); i--) first = nodes[i];
    if (!first) return;
    const top = first.getBoundingClientRect().top - scroller.getBoundingClientRect().top + scroller.scrollTop - 8;
    if (top < scroller.scrollTop) scroller.scrollTop = Math.max(0, top);
  }

  function add(entry) {
    entry.id = state.nextId++;
    entry.ts = Date.now();
    state.entries.push(entry);
    if (entry.from === 'user') log.querySelectorAll('.gw-quick').forEach((node) => node.remove());
    log.append(entryNode(entry, true));
    if (state.entries.length > MAX_ENTRIES) {
      state.entries = bounded(state.entries);
      const first = state.entries[0].id;
      log.querySelectorAll('[data-entry]').forEach((node) => {
        if (Number(node.dataset.entry) < first) node.remove();
      });
    }
    scrollToAnswer();
    save();
  }

  function updateTyping() {
    const waiting = state.entries.some((entry) => entry.status === 'sending');
    if (typing.hidden === !waiting) return;
    typing.hidden = !waiting;
    typingStatus.textContent = waiting ? TEXT.typing : '';
    if (waiting) scrollDown();
  }

  let connection = 'idle';
  let offlineTimer = null;

  /** The header's line: the connection, and when online who answers (bot, queue, person). */
  function setStatus(name) {
    connection = name;
    const shown = name !== 'online' ? name
      : state.queue ? 'queued' : state.mode === 'agent' ? 'withAgent' : 'online';
    statusLine.dataset.state = shown;
    statusLine.textContent = TEXT[shown] || '';
    panel.dataset.connection = name;
    const down = name === 'reconnecting' || name === 'unavailable';
    if (!down) {
      clearTimeout(offlineTimer);
      offlineTimer = null;
      offlineNotice.hidden = true;
    } else if (!offlineTimer && offlineNotice.hidden) {
      // still down after a while: the citizen is told what else they can do, once
      offlineTimer = setTimeout(() => {
        offlineNotice.textContent = '';
        appendText(offlineNotice, TEXT.offline);
        offlineNotice.hidden = false;
      }, OFFLINE_NOTICE_MS);
    }
  }

  /** The queue bar: place and expected wait, with a cancel button (取消 by word works too). */
  function renderQueue() {
    queueBar.hidden = !state.queue;
    if (state.queue) {
      const place = state.queue.place <= 1 ? TEXT.queueNext : TEXT.queueAhead(state.queue.place - 1);
      const minutes = state.queue.minutes ? ` · ${TEXT.queueMinutes(state.queue.minutes)}` : '';
      queueText.textContent = `${TEXT.queued} · ${place}${minutes}`;
    }
    setStatus(connection);
  }

  function onQueueUpdate(update) {
    if (update.state === 'waiting') {
      state.queue = { place: update.place, minutes: update.minutes };
      if (update.delivered) {
        // the citizen's messages so far reached the agents' queue
        for (const entry of state.entries) {
          if (entry.from === 'user' && entry.status === 'sent' && !entry.delivered) {
            entry.delivered = true;
            refreshDelivery(entry);
          }
        }
      }
    } else {
      state.queue = null;
      state.mode = update.state === 'accepted' ? 'agent' : 'bot';
    }
    renderQueue();
    save();
  }

  function setUnread(unread) {
    state.unread = unread;
    launcher.classList.toggle('gw-has-unread', unread);
    launcher.setAttribute('aria-label', unread ? TEXT.openUnread : TEXT.open);
  }

  // ---------------------------------------------------------------- open / close
  function open() {
    state.open = true;
    panel.hidden = false;
    launcher.setAttribute('aria-expanded', 'true');
    launcher.classList.add('gw-launcher-open');
    setUnread(false);
    save();
    connect();
    scrollToAnswer();
    input.focus();
  }

  function close() {
    state.open = false;
    panel.hidden = true;
    launcher.setAttribute('aria-expanded', 'false');
    launcher.classList.remove('gw-launcher-open');
    save();
    launcher.focus();
  }

  function clearConversation() {
    if (!window.confirm(TEXT.clearConfirm)) return;
    state.entries = [];
    state.sessionId = null;
    state.queue = null;
    state.mode = 'bot';
    storage.clear();
    renderQueue();
    renderAll();
    updateTyping();
    if (socket && socket.connected) requestSession();
    save();
    input.focus();
  }

  queueCancel.addEventListener('click', () => {
    send(TEXT.queueCancelWord, TEXT.queueCancelWord);
    input.focus();
  });

  // On a phone the panel covers the page: it is a modal dialog there, and Tab stays in it.
  const phone = window.matchMedia ? window.matchMedia(PHONE_LAYOUT) : null;
  const syncModal = () => panel.setAttribute('aria-modal', phone && phone.matches ? 'true' : 'false');
  syncModal();
  if (phone && phone.addEventListener) phone.addEventListener('change', syncModal);
  panel.addEventListener('keydown', (event) => {
    if (event.key !== 'Tab' || panel.getAttribute('aria-modal') !== 'true') return;
    const focusable = [...panel.querySelectorAll('a[href], button:not([disabled]), textarea, [tabindex="0"]')]
      .filter((node) => !node.closest('[hidden]'));
    if (!focusable.length) return;
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    const active = root.activeElement || document.activeElement;
    if (event.shiftKey && active === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && active === last) {
      event.preventDefault();
      first.focus();
    }
  });

  launcher.addEventListener('click', () => (panel.hidden ? open() : close()));
  closeButton.addEventListener('click', close);
  clearButton.addEventListener('click', clearConversation);
  panel.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      event.stopPropagation();
      close();
    }
  });

  // ---------------------------------------------------------------- input
  function showHint(text) {
    hint.textContent = text;
  }

  function autoGrow() {
    input.style.height = 'auto';
    input.style.height = `${Math.min(input.scrollHeight, 120)}px`;
  }

  input.addEventListener('input', () => {
    autoGrow();
    showHint(input.value.length >= MAX_INPUT ? TEXT.tooLong : input.value.length > MAX_INPUT - 50 ? `${input.value.length}/${MAX_INPUT}` : '');
  });
  input.addEventListener('keydown', (event) => {
    // Enter while a Chinese IME is composing picks a candidate; it must not send.
    if (event.key !== 'Enter' || event.shiftKey || event.isComposing || event.keyCode === 229) return;
    event.preventDefault();
    form.requestSubmit ? form.requestSubmit() : submit();
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submit();
  });

  function submit() {
    const text = input.value.trim();
    if (!text) {
      input.focus();
      return;
    }
    input.value = '';
    autoGrow();
    showHint('');
    send(text, text);
    input.focus();
  }

  // ---------------------------------------------------------------- connection
  let io = null;
  let socket = null;
  let confirmed = false;
  let loading = null;

  /**
   * Loads the vendored socket.io client without leaving a trace in the portal: an `io`
   * global the portal already has is restored, and an AMD loader (RequireJS is common on
   * older portals) is hidden while the UMD bundle runs, so it does not call define().
   */
  function loadSocketIo() {
    if (loading) return loading;
    loading = new Promise((resolve, reject) => {
      const hadIo = Object.prototype.hasOwnProperty.call(window, 'io');
      const previousIo = window.io;
      const previousDefine = window.define;
      const hideAmd = typeof previousDefine === 'function' && previousDefine.amd;
      if (hideAmd) window.define = undefined;
      const tag = el('script', { src: config.base + SOCKET_IO_FILE, async: true });
      const restore = () => {
        if (hideAmd) window.define = previousDefine;
        if (hadIo) window.io = previousIo;
        else delete window.io;
        tag.remove();
      };
      tag.addEventListener('load', () => {
        const ours = window.io;
        restore();
        ours ? resolve(ours) : reject(new Error('socket.io did not load'));
      });
      tag.addEventListener('error', () => {
        restore();
        reject(new Error('socket.io did not load'));
      });
      document.head.append(tag);
    }).catch((error) => {
      loading = null; // try again on the next attempt
      throw error;
    });
    return loading;
  }

  let starting = false;

  function connect() {
    if (socket || starting) return;
    starting = true;
    setStatus('connecting');
    loadSocketIo().then((loaded) => {
      starting = false;
      io = loaded;
      const target = new URL(config.rasaUrl, location.href);
      // A path in the Rasa URL is a reverse-proxy prefix (socket.io reads a path as a namespace).
      const path = `${target.pathname.replace(/\/+$/, '')}/socket.io`;
      socket = io(target.origin, {
        path,
        // WebSocket first: no CORS preflights and no sticky sessions needed; long-polling
        // only where a proxy blocks WebSockets.
        transports: ['websocket', 'polling'],
        tryAllTransports: true,
        reconnectionDelay: 1000,
        reconnectionDelayMax: 8000,
        timeout: 10000,
      });
      socket.on('connect', requestSession);
      socket.on('session_confirm', onSessionConfirm);
      socket.on('bot_uttered', onBotMessage);
      socket.on('disconnect', (reason) => {
        confirmed = false;
        setStatus('reconnecting');
        if (reason === 'io server disconnect') socket.connect(); // the server hung up: dial again
      });
      socket.on('connect_error', () => setStatus(state.entries.length ? 'reconnecting' : 'unavailable'));
      socket.io.on('reconnect_attempt', () => setStatus('reconnecting'));
    }).catch(() => {
      starting = false;
      setStatus('unavailable');
      setTimeout(connect, 5000);
    });
  }

  function requestSession() {
    confirmed = false;
    socket.emit('session_request', { session_id: state.sessionId });
  }

  function onSessionConfirm(data) {
    const id = typeof data === 'string' ? data : data && data.session_id;
    if (!id) return;
    state.sessionId = id;
    confirmed = true;
    setStatus('online');
    save();
    flush();
  }

  function onBotMessage(data) {
    const update = queueUpdate(data);
    if (update) onQueueUpdate(update);
    const entry = botEntry(data);
    if (!entry) return;
    if (entry.agent && (state.queue || state.mode !== 'agent')) {
      state.queue = null; // a person writes: the wait is over
      state.mode = 'agent';
      renderQueue();
    }
    add(entry);
    if (panel.hidden) setUnread(true);
  }

  /** Shows the user's message at once; it goes out now or when the connection is back. */
  function send(payload, shown) {
    const message = String(payload).slice(0, MAX_INPUT);
    add({ from: 'user', text: String(shown).slice(0, MAX_INPUT), payload: message, status: 'pending' });
    flush();
    connect();
  }

  function flush() {
    if (!socket || !socket.connected || !confirmed) return;
    for (const entry of state.entries) {
      if (entry.from !== 'user' || entry.status !== 'pending') continue;
      entry.status = 'sending';
      refreshDelivery(entry);
      // Rasa acknowledges after the whole turn, i.e. after its replies: the typing
      // indicator runs until then. No acknowledgement in time: shown as failed, with 重发.
      socket.timeout(ACK_TIMEOUT_MS).emit(
        'user_uttered', { message: entry.payload, session_id: state.sessionId },
        (error, answer) => {
          if (entry.status !== 'sending') return;
          const refused = !error && answer && answer.status === 'ignored';
          if (refused && answer.reason === 'no_session' && !entry.retried) {
            entry.retried = true; // the server lost our session (e.g. restarted): ask again
            entry.status = 'pending';
            if (socket.connected) requestSession();
          } else {
            entry.status = error || refused ? 'failed' : 'sent';
          }
          refreshDelivery(entry);
          save();
        });
    }
    save();
  }

  // ---------------------------------------------------------------- start
  renderAll();
  setUnread(state.unread);
  setStatus('idle');
  renderQueue();
  updateTyping();
  const start = () => {
    document.body.append(host);
    if (state.open) {
      panel.hidden = false;
      launcher.setAttribute('aria-expanded', 'true');
      launcher.classList.add('gw-launcher-open');
      scrollToAnswer();
    }
    // A conversation in progress stays connected, so replies (and later agents) arrive.
    if (state.open || state.sessionId || state.entries.some((e) => e.status === 'pending')) connect();
  };
  document.body ? start() : document.addEventListener('DOMContentLoaded', start);

  window.__govbotWidget = { open, close, version: WIDGET_VERSION };
})();
