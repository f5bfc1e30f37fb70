// events.js: the daemon's event stream over SSE (GET /v1/events, with the
// session cookie). EventSource reconnects by itself and sends Last-Event-ID,
// so the daemon resumes where the page left off; after any reconnect the
// app re-reads the state (onOpen), which also covers a daemon restart,
// whose sequence numbers start again.

// Every event type of DESIGN §5: SSE frames are named by type, and
// EventSource delivers a named frame only to a listener for that name.
export const EVENT_TYPES = [
  'call.outgoing', 'call.incoming', 'call.ringing', 'call.early', 'call.answered',
  'call.established', 'call.held', 'call.resumed', 'call.remote_held', 'call.remote_resumed',
  'call.transfer', 'call.ended', 'dtmf.received', 'message.received', 'message.sent',
  'message.failed', 'registration.ok', 'registration.failed', 'registration.unregistered',
  'audio.device', 'play.ended', 'recording.saved', 'hook.failed', 'gap',
];

// FROM_NOW is a seq no daemon reaches (2^53-1, JavaScript's largest exact
// integer).
const FROM_NOW = Number.MAX_SAFE_INTEGER;

/**
 * connectEvents opens the stream and keeps it open.
 * handlers: onOpen() after every (re)connect, onLost() when the connection
 * dropped and the browser is retrying, onClosed() when the browser gave up
 * (an HTTP error such as 401; the app decides what next), onEvent(event).
 * Returns {close(), reopen(delayMs)}.
 */
export function connectEvents(handlers) {
  let es = null;
  let timer = 0;
  let closed = false;

  const onFrame = (msg) => {
    let ev;
    try {
      ev = JSON.parse(msg.data);
    } catch {
      return;
    }
    if (!ev.type) ev.type = msg.type;
    handlers.onEvent(ev);
  };

  const open = () => {
    if (closed) return;
    // since beyond the daemon's last seq means "from now on" (the state
    // is read right after); on a reconnect Last-Event-ID takes over.
    es = new EventSource('/v1/events?since=' + FROM_NOW);
    es.addEventListener('open', () => handlers.onOpen());
    es.addEventListener('error', () => {
      if (es.readyState === EventSource.CLOSED) handlers.onClosed();
      else handlers.onLost();
    });
    for (const t of EVENT_TYPES) es.addEventListener(t, onFrame);
    es.addEventListener('message', onFrame); // frames without an event: line
  };

  open();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      if (es) es.close();
    },
    reopen(delayMs) {
      if (closed) return;
      if (es) es.close();
      clearTimeout(timer);
      timer = setTimeout(open, delayMs);
    },
  };
}
