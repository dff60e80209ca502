// Find a young person by name, phone or e-mail as one types. The query is
// kept in the address so that "back" from a person returns to the results.
import { useEffect, useState } from 'preact/hooks';
import { t, tn, getLang } from '../i18n.js';
import { api, qs } from '../api.js';
import { useDebounced, useLoad } from '../hooks.js';
import { replaceRoute, href } from '../router.js';
import { describe } from '../errors.js';
import { formatDate } from '../dates.js';
import { formatPhone } from '../format.js';
import { Notice } from '../components/forms.jsx';

export const SEARCH_DELAY_MS = 150;

export function Search({ query }) {
  const [text, setText] = useState(query);
  const q = useDebounced(text.trim(), SEARCH_DELAY_MS);
  const lang = getLang();

  useEffect(() => { replaceRoute('/search' + qs({ q })); }, [q]);

  const { data, error, loading } = useLoad(
    () => (q ? api.get('/api/search' + qs({ q, limit: 50 })) : Promise.resolve(null)),
    [q],
  );
  const persons = q && data ? data.persons : [];

  return (
    <section class="screen search">
      <h1 tabindex="-1">{t('search.title')}</h1>
      <form role="search" onSubmit={(e) => e.preventDefault()}>
        <div class="field">
          <label for="search-q">{t('search.label')}</label>
          <input id="search-q" type="search" value={text} autofocus
            onInput={(e) => setText(e.currentTarget.value)}
            autocomplete="off" autocapitalize="none" spellcheck={false} enterkeyhint="search"
            aria-describedby="search-status" />
        </div>
      </form>
      <p id="search-status" class="hint" aria-live="polite">
        {!q ? t('search.hint')
          : loading && !data ? t('common.loading')
          : error ? '' : tn('search.count', persons.length)}
      </p>
      {error && <Notice kind="error">{describe(error)}</Notice>}
      <ul class="cards results" id="search-results">
        {persons.map((p) => (
          <li key={p.id}>
            <a class="card link" href={href('person', p.id)}>
              <strong class="name">{p.first_name} {p.last_name}</strong>
              <span class="meta">
                {[formatPhone(p.phone), p.email, p.birth_date && formatDate(p.birth_date, lang), p.commune]
                  .filter(Boolean).join(' · ')}
              </span>
            </a>
          </li>
        ))}
      </ul>
    </section>
  );
}
