// Fields edited in parallel on two replicas: each value side by side, with
// who wrote it and when; the counsellor keeps one.
import { useState } from 'preact/hooks';
import { useStore } from '../store.js';
import { t, tn, getLang, fieldLabel } from '../i18n.js';
import { api } from '../api.js';
import { model, fieldOf } from '../model.js';
import { useLoad } from '../hooks.js';
import { describe } from '../errors.js';
import { showToast } from '../ui.js';
import { href } from '../router.js';
import { formatDateTime } from '../dates.js';
import { writtenAt } from '../format.js';
import { displayValue } from '../components/RecordField.jsx';
import { Notice } from '../components/forms.jsx';

function Conflict({ conflict, onSettled }) {
  const m = useStore(model);
  const lang = getLang();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const field = fieldOf(m, conflict.entity, conflict.field) || { name: conflict.field, type: 'string' };

  async function keep(value) {
    setBusy(true);
    try {
      await api.post('/api/conflicts/settle', { record: conflict.record, field: conflict.field, value });
      showToast({ text: t('conflicts.settled') });
      onSettled();
    } catch (err) {
      setError(describe(err));
      setBusy(false);
    }
  }

  const title = `${t('entity.' + conflict.entity)} · ${fieldLabel(conflict.entity, conflict.field)}`;
  return (
    <li class="card conflict">
      <p class="name">{title}</p>
      {conflict.entity === 'person' && (
        <p><a href={href('person', conflict.record)}>{t('conflicts.openPerson')}</a></p>
      )}
      {error && <p class="field-error" role="alert">{error}</p>}
      <div class="side-by-side">
        {conflict.values.map((v, i) => (
          <div class="choice" key={i}>
            <p class="value">{displayValue(conflict.entity, field, v.value, lang) || t('conflicts.empty')}</p>
            <p class="meta">{[v.author, formatDateTime(writtenAt(v), lang)].filter(Boolean).join(' · ')}</p>
            {i === 0 && <p class="meta">{t('conflicts.shown')}</p>}
            <button type="button" class="secondary" disabled={busy} onClick={() => keep(v.value)}>
              {t('conflicts.keep')}
            </button>
          </div>
        ))}
      </div>
    </li>
  );
}

export function Conflicts() {
  const { data, error, loading, reload } = useLoad(() => api.get('/api/conflicts'), []);
  const conflicts = data?.conflicts || [];
  return (
    <section class="screen conflicts">
      <h1 tabindex="-1">{t('conflicts.title')}</h1>
      <p class="hint">{t('conflicts.intro')}</p>
      {error && <Notice kind="error">{describe(error)}</Notice>}
      {loading && !data && <p>{t('common.loading')}</p>}
      {data && <p class="hint" aria-live="polite">{tn('conflicts.count', conflicts.length)}</p>}
      <ul class="cards">
        {conflicts.map((c) => (
          <Conflict key={`${c.record}:${c.field}`} conflict={c} onSettled={reload} />
        ))}
      </ul>
    </section>
  );
}
