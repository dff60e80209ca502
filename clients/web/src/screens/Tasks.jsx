// Today's tasks (and overdue ones), the user's own first.
import { t, tn, getLang, enumLabel } from '../i18n.js';
import { api } from '../api.js';
import { useLoad } from '../hooks.js';
import { describe } from '../errors.js';
import { showToast } from '../ui.js';
import { href } from '../router.js';
import { formatDate } from '../dates.js';
import { Notice } from '../components/forms.jsx';
import { markDone } from './person/PersonTasks.jsx';

export function Tasks() {
  const lang = getLang();
  const { data, error, loading, reload, setData } = useLoad(() => api.get('/api/tasks/today'), []);
  const tasks = data?.tasks || [];

  async function done(task) {
    try {
      const outcome = await markDone(task, t('outbox.label.taskTitle', { title: task.fields.title }));
      setData({ tasks: tasks.filter((other) => other.id !== task.id) });
      showToast(outcome.queued ? { kind: 'warn', text: t('common.queued') } : { text: t('tasks.doneSaved') });
      if (outcome.saved) reload();
    } catch (err) {
      showToast({ kind: 'error', text: describe(err) });
    }
  }

  return (
    <section class="screen tasks">
      <h1 tabindex="-1">{t('tasks.title')}</h1>
      {error && <Notice kind="error">{describe(error)}</Notice>}
      {loading && !data && <p>{t('common.loading')}</p>}
      {data && <p class="hint" aria-live="polite">{tn('tasks.count', tasks.length)}</p>}
      <ul class="cards" id="tasks-list">
        {tasks.map((task) => {
          const f = task.fields;
          return (
            <li key={task.id} class={'card task' + (task.overdue ? ' overdue' : '')}>
              <p class="name">{f.title}</p>
              <p class="meta">
                {task.overdue && <strong class="late">{t('tasks.overdue')} · </strong>}
                {t('tasks.due', { date: formatDate(f.due_date, lang) })}
                {f.priority ? ` · ${enumLabel('task', 'priority', f.priority)}` : ''}
                {` · ${f.owner}`}
              </p>
              {f.person && (
                <p><a href={href('person', f.person)}>{task.person_name || t('tasks.openPerson')}</a></p>
              )}
              <button type="button" class="primary" onClick={() => done(task)}>{t('tasks.markDone')}</button>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
