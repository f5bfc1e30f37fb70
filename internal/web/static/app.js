// app.js: gophone's web dialpad. State comes from GET /v1/status and the
// event stream (SSE, GET /v1/events, with the session cookie); every action
// is one call to the HTTP API. Text from the network is only ever put into
// the page as text (textContent), never as markup.
import { ApiError, call, callPath, describe, hooks, signIn, signOut } from './api.js';
import { connectEvents } from './events.js';

const $ = (id) => document.getElementById(id);
const KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'];
const LETTERS = { 2: 'ABC', 3: 'DEF', 4: 'GHI', 5: 'JKL', 6: 'MNO', 7: 'PQRS', 8: 'TUV', 9: 'WXYZ', 0: '+' };

const state = {
  status: { accounts: [], calls: [], audio: {} },
  fetchedAt: 0, // performance.now() when status was read: base of the timers
  history: null, // array, or null while unavailable
  ended: [], // calls that ended while the page was open (history fallback)
  messages: null,
  sending: [], // messages posted and not yet answered
  chatPeer: '', // the open conversation: a peer as the message store files it
  peerAddr: new Map(), // peer → the address typed for it, where messages go
  unread: new Set(),
  devices: [],
  stream: null,
  running: false,
};

// ---- sign-in ----------------------------------------------------------

function showSignIn(message) {
  state.running = false;
  if (state.stream) {
    state.stream.close();
    state.stream = null;
  }
  $('app').hidden = true;
  $('signin').hidden = false;
  $('signin-error').textContent = message || '';
  $('token').focus();
}

async function onSignIn(ev) {
  ev.preventDefault();
  const input = $('token');
  const token = input.value.trim();
  const err = $('signin-error');
  err.textContent = '';
  if (!token) {
    err.textContent = 'Enter the API token.';
    return;
  }
  try {
    await signIn(token);
  } catch (e) {
    input.value = '';
    if (e instanceof ApiError && e.status === 401) {
      err.textContent = 'Sign-in failed: that token is wrong. Check the api-token file in the data directory and try again.';
    } else {
      err.textContent = describe('Sign-in', e);
    }
    input.focus();
    return;
  }
  input.value = '';
  start();
}

// ---- start, refresh ---------------------------------------------------

function start() {
  $('signin').hidden = true;
  $('app').hidden = false;
  state.running = true;
  refreshAll();
  state.stream = connectEvents({
    onOpen: () => {
      setConnection('live', 'Live: connected to gophone');
      refreshAll();
    },
    onLost: () => setConnection('lost', 'Connection lost: reconnecting…'),
    onClosed: () => probeSession(),
    onEvent: onEvent,
  });
}

// probeSession runs when the stream gave up: either the session ended (sign
// in again) or the daemon is away (try again shortly).
async function probeSession() {
  if (!state.running) return;
  try {
    await call('GET', '/v1/status');
    state.stream && state.stream.reopen(1000);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return; // hooks.unauthorized took over
    setConnection('lost', 'Connection lost: reconnecting…');
    state.stream && state.stream.reopen(2000);
  }
}

function setConnection(kind, text) {
  const el = $('connection');
  el.dataset.state = kind;
  el.textContent = text;
}

let refreshTimer = 0;
function refreshSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refreshStatus, 50);
}

async function refreshAll() {
  await Promise.all([refreshStatus(), refreshHistory(), refreshMessages(), refreshDevices()]);
}

async function refreshStatus() {
  try {
    const st = await call('GET', '/v1/status');
    state.status = { accounts: st.accounts || [], calls: st.calls || [], audio: st.audio || {} };
    state.fetchedAt = performance.now();
    renderStatus();
  } catch (e) {
    if (e.status !== 401) notice(describe('Reading the phone status', e));
  }
}

async function refreshHistory() {
  try {
    state.history = await call('GET', '/v1/history') || [];
    $('history-note').textContent = state.history.length ? '' : 'No calls yet.';
  } catch (e) {
    state.history = null;
    $('history-note').textContent = describe('Call history', e) +
      ' Calls that end while this page is open are listed below.';
  }
  renderHistory();
}

async function refreshMessages() {
  try {
    state.messages = await call('GET', '/v1/messages') || [];
    $('chat-note').textContent = '';
  } catch (e) {
    state.messages = null;
    $('chat-note').textContent = describe('Chat', e);
  }
  renderChat();
}

async function refreshDevices() {
  try {
    state.devices = await call('GET', '/v1/devices') || [];
  } catch (e) {
    state.devices = [];
    notice(describe('Listing audio devices', e));
  }
  renderDevices();
}

// ---- events -----------------------------------------------------------

function onEvent(ev) {
  const t = ev.type || '';
  if (t === 'gap') {
    refreshAll();
    return;
  }
  if (t.startsWith('call.') || t.startsWith('registration.') || t === 'audio.device') {
    refreshSoon();
  }
  if (t === 'call.ended') {
    state.ended.unshift(ev);
    refreshHistory();
    // The history row may be written just after the event: read again.
    setTimeout(refreshHistory, 1000);
  }
  if (t === 'dtmf.received' && ev.call) {
    const el = document.querySelector(`li.call[data-id="${CSS.escape(ev.call)}"] .heard-digits`);
    if (el) {
      el.dataset.digits = (el.dataset.digits || '') + (ev.digit || '');
      el.textContent = `Received: ${el.dataset.digits}`;
    }
  }
  if (t.startsWith('message.')) {
    if (t === 'message.received' && ev.peer && ev.peer !== state.chatPeer) state.unread.add(ev.peer);
    refreshMessages();
  }
}

// ---- notices ----------------------------------------------------------

let noticeTimer = 0;
function notice(text) {
  const el = $('notice');
  el.textContent = text;
  clearTimeout(noticeTimer);
  if (text) noticeTimer = setTimeout(() => { el.textContent = ''; }, 15000);
}

/** act runs an API call for a button, showing a failure in words. */
async function act(what, fn) {
  try {
    const r = await fn();
    notice('');
    return r;
  } catch (e) {
    notice(describe(what, e));
    return undefined;
  } finally {
    refreshSoon();
  }
}

// ---- status rendering -------------------------------------------------

function renderStatus() {
  renderAccounts();
  renderCalls();
  renderBanner();
  renderAudio();
}

const ACCOUNT_STATES = {
  local: 'local account (no server)',
  registered: 'registered',
  unregistered: 'not registered',
  registering: 'registering…',
  failed: 'registration failed',
};

function renderAccounts() {
  const ul = $('accounts');
  ul.replaceChildren(...state.status.accounts.map((a) => {
    const li = document.createElement('li');
    li.dataset.state = a.state || '';
    const words = ACCOUNT_STATES[a.state] || a.state || 'unknown';
    li.textContent = `${a.label || 'Account ' + a.id}: ${a.aor} — ${words}${a.error ? ' (' + a.error + ')' : ''}`;
    return li;
  }));
}

function callWho(c) {
  if (c.name && c.number && c.name !== c.number) return `${c.name} (${c.number})`;
  return c.name || c.number || c.uri || 'unknown';
}

function callStateWords(c) {
  switch (c.state) {
    case 'calling': return 'Calling…';
    case 'early': return 'Ringing at the far end';
    case 'ringing': return c.direction === 'incoming' ? 'Ringing here (answer above)' : 'Ringing';
    case 'established':
      if (c.held && c.remoteHeld) return 'Connected, on hold both ways';
      if (c.held) return 'Connected, on hold';
      if (c.remoteHeld) return 'Connected, held by the other side';
      return 'Connected';
    case 'ended': return 'Ended';
    default: return c.state || '';
  }
}

// callKey names a call on this page: ids start again when the daemon
// restarts, so the start time is part of it.
const callKey = (c) => `${c.id}@${c.started}`;

const isIncomingRinging = (c) => c.direction === 'incoming' && c.state === 'ringing';

function renderBanner() {
  const banner = $('banner');
  const ringing = state.status.calls.filter(isIncomingRinging);
  const keep = new Set(ringing.map(callKey));
  for (const el of [...banner.children]) if (!keep.has(el.dataset.key)) el.remove();
  for (const c of ringing) {
    if ([...banner.children].some((el) => el.dataset.key === callKey(c))) continue;
    const div = document.createElement('div');
    div.className = 'incoming';
    div.dataset.id = c.id;
    div.dataset.key = callKey(c);
    const p = document.createElement('p');
    const strong = document.createElement('strong');
    strong.textContent = 'Incoming call';
    const who = document.createElement('span');
    who.className = 'caller';
    const name = c.name && c.name !== c.number ? c.name : '';
    who.textContent = name ? ` from ${name}, number ${c.number}` : ` from ${c.number || c.uri}`;
    p.append(strong, who);
    const answer = button('Answer', 'primary', () => act('Answering', () => call('POST', callPath(c.id, 'answer'))));
    answer.setAttribute('aria-label', `Answer the call from ${name || c.number}`);
    const reject = button('Reject', 'danger', () => act('Rejecting', () => call('POST', callPath(c.id, 'reject'))));
    reject.setAttribute('aria-label', `Reject the call from ${name || c.number}`);
    div.append(p, answer, reject);
    banner.append(div);
  }
  banner.hidden = ringing.length === 0;
  document.title = ringing.length ? `Incoming call from ${callWho(ringing[0])} — gophone` : 'gophone';
}

function button(text, cls, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = text;
  if (cls) b.className = cls;
  b.addEventListener('click', onClick);
  return b;
}

function renderCalls() {
  const ul = $('calls');
  const calls = state.status.calls.filter((c) => c.state !== 'ended');
  const keys = new Set(calls.map(callKey));
  for (const li of [...ul.children]) if (!keys.has(li.dataset.key)) li.remove();
  for (const c of calls) {
    let li = [...ul.children].find((el) => el.dataset.key === callKey(c));
    if (!li) {
      li = newCallItem(c.id);
      li.dataset.key = callKey(c);
      ul.append(li);
    }
    updateCallItem(li, c);
  }
  $('no-calls').hidden = calls.length > 0;
  tickTimers();
}

function newCallItem(id) {
  const li = $('call-tpl').content.firstElementChild.cloneNode(true);
  li.dataset.id = id;
  const pad = li.querySelector('.dtmf');
  pad.setAttribute('aria-label', 'DTMF keypad');
  for (const k of KEYS) {
    const b = button(k, 'key', () => sendDTMF(li, k));
    b.setAttribute('aria-label', `Send DTMF ${k}`);
    pad.append(b);
  }
  const heard = document.createElement('p');
  heard.className = 'heard-digits muted small';
  heard.setAttribute('aria-live', 'polite');
  li.querySelector('.sent-digits').after(heard);
  li.querySelector('.actions').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-act]');
    if (b) callAction(li, b);
  });
  li.querySelector('form.transfer').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const input = ev.target.elements.target;
    const number = input.value.trim();
    const id = li.dataset.id;
    notice(`Transferring call ${id} to ${number}…`);
    const r = await act(`Transferring to ${number}`, () => call('POST', callPath(id, 'transfer'), { number }));
    if (r !== undefined) {
      notice(`Transfer to ${number}: ${r && r.outcome ? r.outcome : 'done'}`);
      input.value = '';
    }
  });
  return li;
}

function updateCallItem(li, c) {
  li.dataset.state = c.state;
  li.querySelector('.who').textContent = callWho(c);
  const dir = c.direction === 'incoming' ? 'Incoming' : 'Outgoing';
  li.querySelector('.state').textContent = `${dir} · ${callStateWords(c)}${c.codec ? ' · ' + c.codec : ''}${c.srtp ? ' · SRTP' : ''}`;
  const established = c.state === 'established';
  const show = (act, on) => { li.querySelector(`[data-act="${act}"]`).hidden = !on; };
  show('hold', established);
  show('mute', established);
  show('keypad', established);
  li.querySelector('form.transfer').hidden = !established;
  const hold = li.querySelector('[data-act="hold"]');
  hold.textContent = c.held ? 'Resume' : 'Hold';
  const mute = li.querySelector('[data-act="mute"]');
  const muted = !!state.status.audio.muted;
  mute.setAttribute('aria-pressed', String(muted));
  mute.textContent = muted ? 'Unmute' : 'Mute';
  if (!established) {
    li.querySelector('.dtmf').hidden = true;
    li.querySelector('[data-act="keypad"]').setAttribute('aria-expanded', 'false');
  }
  li.dataset.duration = String(c.duration || 0);
  li.dataset.answered = c.answered ? '1' : '';
}

async function callAction(li, b) {
  const id = li.dataset.id;
  switch (b.dataset.act) {
    case 'hangup': return act('Hanging up', () => call('POST', callPath(id, 'hangup')));
    case 'hold': return act(b.textContent === 'Resume' ? 'Resuming' : 'Holding', () => call('POST', callPath(id, 'hold')));
    case 'mute': return toggleMute();
    case 'keypad': {
      const pad = li.querySelector('.dtmf');
      pad.hidden = !pad.hidden;
      b.setAttribute('aria-expanded', String(!pad.hidden));
      if (!pad.hidden) pad.querySelector('button').focus();
      return undefined;
    }
    default: return undefined;
  }
}

// dtmfQueues keeps each call's digits in the order pressed: one request at
// a time per call, since parallel requests may arrive in any order.
const dtmfQueues = new WeakMap();

function sendDTMF(li, digit) {
  const prev = dtmfQueues.get(li) || Promise.resolve();
  const next = prev.then(async () => {
    const id = li.dataset.id;
    const r = await act(`Sending DTMF ${digit}`, () => call('POST', callPath(id, 'dtmf'), { digits: digit }));
    if (r !== undefined) {
      const el = li.querySelector('.sent-digits');
      el.dataset.digits = (el.dataset.digits || '') + digit;
      el.textContent = `Sent: ${el.dataset.digits}`;
    }
  });
  dtmfQueues.set(li, next);
  return next;
}

function toggleMute() {
  const on = !state.status.audio.muted;
  return act(on ? 'Muting' : 'Unmuting', async () => {
    const au = await call('POST', '/v1/audio/mute', { state: on ? 'on' : 'off' });
    if (au) state.status.audio = au;
    renderAudio();
    renderCalls();
  });
}

// ---- timers -----------------------------------------------------------

function fmtDuration(s) {
  s = Math.max(0, Math.floor(s));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

function tickTimers() {
  const elapsed = (performance.now() - state.fetchedAt) / 1000;
  for (const li of document.querySelectorAll('#calls li.call')) {
    const t = li.querySelector('.timer');
    if (!li.dataset.answered) {
      t.textContent = '';
      continue;
    }
    t.textContent = fmtDuration(Number(li.dataset.duration) + elapsed);
  }
}

// ---- audio ------------------------------------------------------------

function renderAudio() {
  const au = state.status.audio || {};
  for (const [id, v] of [['volume', au.volume], ['mic', au.micVolume]]) {
    const input = $(id);
    if (v === undefined) continue;
    if (document.activeElement !== input) input.value = String(v);
    $(id + '-out').textContent = `${input.value} %`;
  }
  const muted = !!au.muted;
  $('mute').setAttribute('aria-pressed', String(muted));
  $('mute').textContent = muted ? 'Unmute microphone' : 'Mute microphone';
  $('mute-state').textContent = muted ? 'Microphone is muted' : 'Microphone is on';
  for (const dir of ['input', 'output']) {
    const cur = au[dir] || '';
    const field = $(dir + '-id');
    if (document.activeElement !== field && !field.dataset.dirty) field.value = cur;
    syncKind(dir);
  }
}

function renderDevices() {
  for (const dir of ['input', 'output']) {
    const sel = $(dir + '-kind');
    const usable = state.devices.filter((d) => d.kind === dir || d.kind === 'both');
    sel.replaceChildren(...usable.map((d) => {
      const o = document.createElement('option');
      o.value = d.id;
      o.textContent = d.id;
      o.title = d.description || '';
      return o;
    }));
    syncKind(dir);
  }
}

// syncKind selects the template that matches the device in use.
function syncKind(dir) {
  const sel = $(dir + '-kind');
  const cur = $(dir + '-id').value;
  const scheme = cur.split(':')[0].toLowerCase();
  for (const o of sel.options) {
    if (o.value.split(':')[0].toLowerCase() === scheme) {
      sel.value = o.value;
      break;
    }
  }
  describeKind(dir);
}

function describeKind(dir) {
  const d = state.devices.find((x) => x.id === $(dir + '-kind').value);
  $(dir + '-help').textContent = d ? `${d.id}: ${d.description}` : '';
}

let levelTimers = {};
function onLevel(id, path) {
  const input = $(id);
  $(id + '-out').textContent = `${input.value} %`;
  clearTimeout(levelTimers[id]);
  levelTimers[id] = setTimeout(() => act(id === 'volume' ? 'Setting the speaker volume' : 'Setting the microphone level',
    async () => {
      const au = await call('PUT', path, { level: Number(input.value) });
      if (au) state.status.audio = au;
    }), 150);
}

// ---- dialpad ----------------------------------------------------------

function buildDialpad() {
  const pad = $('dialpad');
  for (const k of KEYS) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'key';
    b.dataset.key = k;
    const big = document.createElement('span');
    big.textContent = k;
    b.append(big);
    if (LETTERS[k]) {
      const small = document.createElement('small');
      small.textContent = LETTERS[k];
      small.setAttribute('aria-hidden', 'true');
      b.append(small);
    }
    b.addEventListener('click', () => press(k));
    pad.append(b);
  }
}

function press(k) {
  const n = $('number');
  n.value += k;
}

async function onDial(ev) {
  ev.preventDefault();
  const n = $('number');
  const number = n.value.trim();
  if (!number) {
    notice('Enter a number or SIP address to call.');
    n.focus();
    return;
  }
  const r = await act(`Calling ${number}`, () => call('POST', '/v1/calls', { number }));
  if (r !== undefined) n.value = '';
}

// Digits typed while no text field has focus go to the number field, or,
// when the focus is on a call's open DTMF keypad, are sent as DTMF.
function onKey(ev) {
  if (ev.ctrlKey || ev.metaKey || ev.altKey || !state.running) return;
  const el = document.activeElement;
  if (el && (el.matches('input, textarea, select') || el.isContentEditable)) return;
  const pad = el && el.closest('.dtmf');
  if (pad && /^[0-9*#]$/.test(ev.key)) {
    sendDTMF(pad.closest('li.call'), ev.key);
    ev.preventDefault();
  } else if (/^[0-9*#+]$/.test(ev.key)) {
    press(ev.key);
    ev.preventDefault();
  } else if (ev.key === 'Backspace' && !(el && el.closest('.dtmf'))) {
    $('number').value = $('number').value.slice(0, -1);
    ev.preventDefault();
  }
}

// ---- history ----------------------------------------------------------

function renderHistory() {
  const ol = $('history');
  const stored = state.history !== null;
  const rows = stored ? state.history : state.ended.map((e) => ({
    id: e.call, direction: e.direction, number: e.number, name: e.name, uri: e.uri,
    ended: e.time, duration: e.duration, code: e.code, reason: e.reason,
  }));
  ol.replaceChildren(...rows.map((h) => {
    const li = document.createElement('li');
    li.dataset.id = h.id || '';
    const text = document.createElement('span');
    text.className = 'entry';
    const who = document.createElement('strong');
    who.textContent = callWho(h);
    const info = document.createElement('span');
    const dir = h.direction === 'incoming' ? 'Incoming' : 'Outgoing';
    const when = h.started || h.ended;
    // A stored row says whether the call was answered; an event says so
    // by its code (a final failure response: never answered).
    const missed = stored ? !h.answered : h.code >= 300;
    const outcome = missed
      ? `not answered${h.code ? ` (${h.code} ${h.reason || ''})`.trimEnd() : ''}`
      : `lasted ${fmtDuration(h.duration)}`;
    info.textContent = ` · ${dir} · ${when ? new Date(when).toLocaleString() : ''} · ${outcome}`;
    li.append(who, info);
    // The number, as MicroSIP calls back (the account's domain completes
    // it); a caller's From URI often names no port, and a history row none.
    const target = h.number || h.uri;
    if (target) {
      const b = button('Call back', '', () => act(`Calling ${callWho(h)}`, () => call('POST', '/v1/calls', { number: target })));
      b.setAttribute('aria-label', `Call back ${callWho(h)}`);
      li.append(' ', b);
    }
    return li;
  }));
}

// ---- chat -------------------------------------------------------------

const DELIVERY = { sent: 'delivered', delivered: 'delivered', received: 'received', pending: 'sending…', sending: 'sending…' };

function deliveryWords(m) {
  if (m.direction === 'in') return 'received';
  const s = m.status || '';
  if (s.startsWith('failed')) return s.replace(/^failed:?\s*/, 'not delivered: ') || 'not delivered';
  return DELIVERY[s] || s || 'sent';
}

function contacts() {
  const seen = new Map();
  for (const m of state.messages || []) seen.set(m.peer, m.time);
  for (const m of state.sending) if (!seen.has(m.peer)) seen.set(m.peer, m.time);
  if (state.chatPeer && !seen.has(state.chatPeer)) seen.set(state.chatPeer, '');
  return [...seen.entries()].sort((a, b) => String(b[1]).localeCompare(String(a[1]))).map(([p]) => p);
}

function renderChat() {
  const ul = $('contacts');
  ul.replaceChildren(...contacts().map((peer) => {
    const li = document.createElement('li');
    const unread = state.unread.has(peer);
    const b = button(peer + (unread ? ' (new messages)' : ''), peer === state.chatPeer ? 'current' : '', () => openChat(peer));
    b.dataset.peer = peer;
    if (peer === state.chatPeer) b.setAttribute('aria-current', 'true');
    li.append(b);
    return li;
  }));
  const conv = $('conversation');
  conv.hidden = !state.chatPeer;
  if (!state.chatPeer) return;
  const addr = state.peerAddr.get(state.chatPeer);
  $('chat-peer').textContent = `Chat with ${state.chatPeer}${addr ? ` (${addr})` : ''}`;
  const msgs = (state.messages || []).filter((m) => m.peer === state.chatPeer)
    .concat(state.sending.filter((m) => m.peer === state.chatPeer));
  $('messages').replaceChildren(...msgs.map((m) => {
    const li = document.createElement('li');
    li.className = m.direction === 'in' ? 'in' : 'out';
    li.dataset.status = m.status || '';
    const who = document.createElement('span');
    who.className = 'who';
    who.textContent = m.direction === 'in' ? `${m.peer}: ` : 'You: ';
    const text = document.createElement('span');
    text.className = 'text';
    text.textContent = m.text;
    const st = document.createElement('span');
    st.className = 'delivery';
    st.textContent = ` — ${deliveryWords(m)}`;
    li.append(who, text, st);
    return li;
  }));
}

// peerKey is the peer a message to or from addr is filed under, as the
// daemon files it: a SIP URI's user part (its number), else addr itself.
function peerKey(addr) {
  const m = /^sips?:([^@;?]+)@/i.exec(addr);
  return m ? decodeURIComponent(m[1]) : addr;
}

function openChat(addr) {
  const peer = peerKey(addr);
  if (addr !== peer) state.peerAddr.set(peer, addr);
  state.chatPeer = peer;
  state.unread.delete(peer);
  renderChat();
  $('message-text').focus();
}

async function onSend(ev) {
  ev.preventDefault();
  const input = $('message-text');
  const text = input.value;
  const peer = state.chatPeer;
  const to = state.peerAddr.get(peer) || peer;
  if (!text.trim() || !peer) return;
  const pending = { peer, text, direction: 'out', status: 'sending', time: new Date().toISOString() };
  state.sending.push(pending);
  input.value = '';
  renderChat();
  try {
    const r = await call('POST', '/v1/messages', { to, text });
    pending.status = (r && r.status) || 'sent';
  } catch (e) {
    // A refused message reads "failed: 404 Not Found" (DESIGN §2).
    pending.status = e.code === 'unavailable' ? 'failed: chat is not available'
      : `failed: ${e.message.replace(/^failed:?\s*/i, '')}`;
    notice(describe('Sending the message', e));
  }
  renderChat();
  await refreshMessages();
  // Once the store lists the message, the local copy is dropped.
  if (state.messages && state.messages.some((m) => m.direction === 'out' && m.peer === peer && m.text === text)) {
    state.sending = state.sending.filter((m) => m !== pending);
    renderChat();
  }
}

// ---- tabs -------------------------------------------------------------

function setupTabs() {
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  const select = (tab, focus) => {
    for (const t of tabs) {
      const on = t === tab;
      t.setAttribute('aria-selected', String(on));
      t.tabIndex = on ? 0 : -1;
      $(t.getAttribute('aria-controls')).hidden = !on;
    }
    if (focus) tab.focus();
  };
  for (const t of tabs) {
    t.addEventListener('click', () => select(t, false));
    t.addEventListener('keydown', (ev) => {
      const i = tabs.indexOf(t);
      const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[ev.key];
      if (next === undefined) return;
      ev.preventDefault();
      select(tabs[(next + tabs.length) % tabs.length], true);
    });
  }
}

// ---- wiring -----------------------------------------------------------

async function main() {
  hooks.unauthorized = () => {
    if (state.running) showSignIn('Your session has ended (the daemon may have restarted with a new token): sign in again.');
  };
  buildDialpad();
  setupTabs();
  $('signin-form').addEventListener('submit', onSignIn);
  $('dial-form').addEventListener('submit', onDial);
  $('backspace').addEventListener('click', () => { $('number').value = $('number').value.slice(0, -1); });
  $('signout').addEventListener('click', async () => {
    try { await signOut(); } catch { /* signed out either way */ }
    showSignIn('You are signed out.');
  });
  $('volume').addEventListener('input', () => onLevel('volume', '/v1/audio/volume'));
  $('mic').addEventListener('input', () => onLevel('mic', '/v1/audio/mic'));
  $('mute').addEventListener('click', toggleMute);
  for (const form of document.querySelectorAll('form.device')) {
    const dir = form.dataset.direction;
    $(dir + '-kind').addEventListener('change', () => {
      $(dir + '-id').value = $(dir + '-kind').value;
      $(dir + '-id').dataset.dirty = '1';
      describeKind(dir);
    });
    $(dir + '-id').addEventListener('input', () => { $(dir + '-id').dataset.dirty = '1'; });
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const device = $(dir + '-id').value.trim();
      act(`Switching the ${dir} device to ${device}`, async () => {
        const au = await call('PUT', `/v1/audio/${dir}`, { device });
        delete $(dir + '-id').dataset.dirty;
        if (au) state.status.audio = au;
        renderAudio();
      });
    });
  }
  $('contact-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const peer = $('contact-new').value.trim();
    if (!peer) return;
    $('contact-new').value = '';
    openChat(peer);
  });
  $('message-form').addEventListener('submit', onSend);
  document.addEventListener('keydown', onKey);
  setInterval(tickTimers, 500);

  try {
    await call('GET', '/v1/status');
    start();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) showSignIn('');
    else showSignIn(describe('Reaching gophone', e));
  }
}

main();
