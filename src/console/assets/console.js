// The console's only script of its own (the CSP allows no inline script): live updates from
// /events turned into htmx triggers, the unread count in the tab title, browser notifications
// when the user allowed them, and resetting a form after htmx sent it.
(function () {
  'use strict';
  var body = document.body;
  if (!body || body.getAttribute('data-live') !== '1') return;
  var baseTitle = document.title;
  var lastId = null;

  function refreshUnread() {
    fetch('/unread', { credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) {
        if (!j) return;
        document.title = (j.unread > 0 ? '(' + j.unread + ') ' : '') + baseTitle;
      })
      .catch(function () {});
  }

  function notify(change) {
    if (!('Notification' in window) || Notification.permission !== 'granted' || !document.hidden) return;
    if (change.what === 'reply') new Notification('New reply', { body: change.business, tag: 'mctb-' + change.thread });
    else if (change.what === 'call') new Notification('Missed call', { body: change.business, tag: 'mctb-' + change.thread });
  }

  function connect() {
    // EventSource resends Last-Event-ID itself on its own retries; after a reopen we pass it.
    var es = new EventSource('/events' + (lastId ? '?last=' + encodeURIComponent(lastId) : ''));
    es.addEventListener('change', function (e) {
      lastId = e.lastEventId || lastId;
      var change = JSON.parse(e.data);
      htmx.trigger(body, 'mctb:change', change);
      htmx.trigger(body, 'mctb:thread-' + change.thread, change);
      refreshUnread();
      notify(change);
    });
    es.addEventListener('reset', function (e) {
      lastId = e.lastEventId || lastId;
      htmx.trigger(body, 'mctb:change', {});
      var t = body.getAttribute('data-thread');
      if (t) htmx.trigger(body, 'mctb:thread-' + t, {});
      refreshUnread();
    });
    es.addEventListener('hello', function (e) { lastId = lastId || e.lastEventId; body.setAttribute('data-connected', '1'); });
    es.onerror = function () {
      if (es.readyState === EventSource.CLOSED) {
        // Refused (signed out, server restarted): try again shortly; a sign-out shows the login page.
        setTimeout(function () {
          fetch('/unread', { credentials: 'same-origin' }).then(function (r) {
            if (r.status === 401) location.assign('/login');
            else connect();
          }, function () { setTimeout(connect, 2000); });
        }, 1000);
      }
    };
  }

  document.addEventListener('htmx:afterRequest', function (e) {
    var form = e.target;
    if (e.detail.successful && form && form.hasAttribute && form.hasAttribute('data-reset')) {
      form.reset();
      var count = document.getElementById('count');
      if (count) count.textContent = '';
    }
  });

  var ask = document.getElementById('notify-ask');
  if (ask && 'Notification' in window && Notification.permission === 'default') {
    ask.hidden = false;
    ask.addEventListener('click', function () {
      Notification.requestPermission().then(function () { ask.hidden = true; });
    });
  }

  connect();
  refreshUnread();
})();
