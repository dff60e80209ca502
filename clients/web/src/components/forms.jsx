// Form controls with their label, hint and error wired for assistive
// technology: the error is announced and tied to its input.
import { t } from '../i18n.js';

function describedBy(id, hint, error) {
  return [hint && `${id}-hint`, error && `${id}-error`].filter(Boolean).join(' ') || undefined;
}

function Extra({ id, hint, error }) {
  return (
    <>
      {hint && <p class="hint" id={`${id}-hint`}>{hint}</p>}
      {error && <p class="field-error" id={`${id}-error`} role="alert">{error}</p>}
    </>
  );
}

export function TextField({ id, label, value, onValue, error, hint, required, type = 'text', ...rest }) {
  return (
    <div class={'field' + (error ? ' has-error' : '')}>
      <label for={id}>{label}{required && <span class="req" aria-hidden="true"> *</span>}</label>
      <input
        id={id}
        name={id}
        type={type}
        value={value ?? ''}
        onInput={(e) => onValue(e.currentTarget.value)}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={describedBy(id, hint, error)}
        required={required}
        {...rest}
      />
      <Extra id={id} hint={hint} error={error} />
    </div>
  );
}

export function TextArea({ id, label, value, onValue, error, hint, maxLength, ...rest }) {
  const length = (value || '').length;
  return (
    <div class={'field' + (error ? ' has-error' : '')}>
      <label for={id}>{label}</label>
      <textarea
        id={id}
        name={id}
        value={value ?? ''}
        onInput={(e) => onValue(e.currentTarget.value)}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={[describedBy(id, hint, error), maxLength && `${id}-count`].filter(Boolean).join(' ') || undefined}
        maxLength={maxLength}
        {...rest}
      />
      {maxLength && <p class="hint counter" id={`${id}-count`}>{t('form.chars', { n: length, max: maxLength })}</p>}
      <Extra id={id} hint={hint} error={error} />
    </div>
  );
}

// options: [{ value, label }]; `empty` adds a first, blank choice.
export function SelectField({ id, label, value, onValue, options, empty, error, hint, required, ...rest }) {
  return (
    <div class={'field' + (error ? ' has-error' : '')}>
      <label for={id}>{label}{required && <span class="req" aria-hidden="true"> *</span>}</label>
      <select
        id={id}
        name={id}
        value={value ?? ''}
        onChange={(e) => onValue(e.currentTarget.value)}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={describedBy(id, hint, error)}
        required={required}
        {...rest}
      >
        {empty !== undefined && <option value="">{empty}</option>}
        {options.map((o) => <option key={o.value} value={o.value}>{o.label}</option>)}
      </select>
      <Extra id={id} hint={hint} error={error} />
    </div>
  );
}

// Several choices as big tappable chips (real checkboxes underneath).
export function ChipGroup({ id, legend, options, values, onValues, error }) {
  const chosen = new Set(values || []);
  const toggle = (value) => {
    const next = new Set(chosen);
    if (next.has(value)) next.delete(value); else next.add(value);
    // Keep the model's order, whatever the order of taps.
    onValues(options.map((o) => o.value).filter((v) => next.has(v)));
  };
  return (
    <fieldset class={'field chips' + (error ? ' has-error' : '')} id={id}
      aria-describedby={error ? `${id}-error` : undefined}>
      <legend>{legend}</legend>
      <div class="chip-list">
        {options.map((o) => (
          <label key={o.value} class={'chip' + (chosen.has(o.value) ? ' on' : '')}>
            <input type="checkbox" name={id} value={o.value} checked={chosen.has(o.value)}
              onChange={() => toggle(o.value)} />
            <span>{o.label}</span>
          </label>
        ))}
      </div>
      <Extra id={id} error={error} />
    </fieldset>
  );
}

export function CheckboxField({ id, label, checked, onChecked, error, hint }) {
  return (
    <div class={'field check' + (error ? ' has-error' : '')}>
      <input id={id} type="checkbox" checked={!!checked} onChange={(e) => onChecked(e.currentTarget.checked)}
        aria-invalid={error ? 'true' : undefined} aria-describedby={describedBy(id, hint, error)} />
      <label for={id}>{label}</label>
      <Extra id={id} hint={hint} error={error} />
    </div>
  );
}

export function FormError({ message, id }) {
  if (!message) return null;
  return <div class="form-error" role="alert" id={id}>{message}</div>;
}

export function Notice({ kind = 'info', children, role }) {
  return <div class={'notice ' + kind} role={role || (kind === 'error' ? 'alert' : 'status')}>{children}</div>;
}
