import { render } from 'preact';
import { App } from './app.jsx';
import { getLang } from './i18n.js';
import './styles.css';

document.documentElement.lang = getLang();
render(<App />, document.getElementById('app'));

// The worker only exists in a build (it lists the build's files); it needs a
// secure context, which http://localhost and 127.0.0.1 are.
if ('serviceWorker' in navigator && import.meta.env.PROD) {
  window.addEventListener('load', () => {
    navigator.serviceWorker.register('/service-worker.js').catch(() => {
      // No offline shell (plain http on a LAN address, say): the app still works online.
    });
  });
}
