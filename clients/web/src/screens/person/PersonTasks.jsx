// Follow-up reminders about this young person.
import { useState } from 'preact/hooks';
import { useStore } from '../../store.js';
import { t, getLang, enumLabel, enumOptions } from '../../i18n.js';
import { model, enumValues } from '../../model.js';
import { session } from '../../session.js';
import { saveOrQueue } from '../../outbox.js';
import { formErrors, describe } from '../../errors.js';
import { showToast } from '../../ui.js';
import { todayISO, formatDate } from '../../dates.js';
import { TextField, SelectField, FormError } from '../../components/forms.jsx';

function inDays(n) {
  const d = new Date();
  d.setDate(d.getDate() + n);
  return todayISO(d);
}

export async function markDone(task, label) {
  return saveOrQueue({
    kind: 'task', method: 'PATCH', path: `/api/records/task/${task.id}`,
    body: { fields: { done: true } }, label,
  });
}

export function PersonTasks({ personId, personName, items, onChanged }) {
  const m = useStore(model);
  const me = useStore(session);
  const lang = getLang();
  const [open, setOpen] = useState(false);
  const [form, setForm] = useState({ title: '', due_date: inDays(7), priority: 'normal' });
  const [errors, setErrors] = useState({ fields: {}, form: null });
  const [busy, setBusy] = useState(false);

  async function add(event) {
    event.preventDefault();
    const fields = { title: form.title.trim(), due_date: form.due_date, owner: me?.user, person: personId };
    if (me?.site) fields.site = me.site;
    if (form.priority) fields.priority = form.priority;
    setBusy(true);
    try {
      const outcome = await saveOrQueue({
        kind: 'task', method: 'POST', path: '/api/records/task', body: { fields },
        label: t('outbox.label.task', { name: personName }),
      });
      showToast(outcome.queued ? { kind: 'warn', text: t('common.queued') } : { text: t('tasks.saved') });
      setForm({ title: '', due_date: inDays(7), priority: 'normal' });
      setOpen(false);
      onChanged();
    } catch (error) {
      setErrors(formErrors(error, ['title', 'due_date', 'priority', 'owner']));
    } finally {
      setBusy(false);
    }
  }

  async function done(task) {
    try {
      await markDone(task, t('outbox.label.task', { name: personName }));
      onChanged();
    } catch (error) {
      showToast({ kind: 'error', text: describe(error) });
    }
  }

  const sorted = [...items].sort((a, b) =>
    Number(!!a.fields.done) - Number(!!b.fields.done) || String(a.fields.due_date).localeCompare(String(b.fields.due_date)));

  return (
    <section class="panel" aria-labelledby="ptasks-title">
      <div class="panel-head">
        <h2 id="ptasks-title">{t('person.tasks')}</h2>
        {!open && <button type="button" class="secondary" onClick={() => setOpen(true)}>{t('tasks.new')}</button>}
      </div>
      {open && (
        <form onSubmit={add} noValidate class="inline-form" id="task-form">
          <FormError message={errors.form} />
          <TextField id="task-title" label={t('field.task.title')} value={form.title} required
            onValue={(v) => setForm({ ...form, title: v })} error={errors.fields.title} maxLength={120} />
          <div class="row2">
            <TextField id="task-due_date" type="date" label={t('field.task.due_date')} value={form.due_date} required
              onValue={(v) => setForm({ ...form, due_date: v })} error={errors.fields.due_date} />
            <SelectField id="task-priority" label={t('field.task.priority')} value={form.priority}
              onValue={(v) => setForm({ ...form, priority: v })} error={errors.fields.priority}
              options={enumOptions('task', 'priority', enumValues(m, 'task', 'priority'))} />
          </div>
          <div class="actions">
            <button class="primary" type="submit" disabled={busy}>{t('tasks.add')}</button>
            <button class="secondary" type="button" onClick={() => setOpen(false)}>{t('common.cancel')}</button>
          </div>
        </form>
      )}
      {!items.length && <p class="empty">{t('person.noTasks')}</p>}
      <ul class="cards">
        {sorted.map((task) => (
          <li key={task.id} class={'card task' + (task.fields.done ? ' done' : '')}>
            <p class="name">{task.fields.title}</p>
            <p class="meta">
              {t('tasks.due', { date: formatDate(task.fields.due_date, lang) })}
              {task.fields.priority ? ` · ${enumLabel('task', 'priority', task.fields.priority)}` : ''}
              {` · ${task.fields.owner}`}
              {task.fields.done ? ` · ${t('tasks.doneLabel')}` : ''}
            </p>
            {!task.fields.done && (
              <button type="button" class="secondary" onClick={() => done(task)}>{t('tasks.markDone')}</button>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
