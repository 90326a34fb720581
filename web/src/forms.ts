import { TallyError } from '@tally/sdk';
import { h } from './ui.ts';

export interface Field {
  name: string;
  label: string;
  type?: 'text' | 'number' | 'date' | 'select' | 'password';
  options?: string[];
  value?: string;
  placeholder?: string;
  /** Checked here before any request (the API does not know it, e.g. a reason kept in metadata). */
  required?: boolean;
}

/**
 * A form whose errors come from the API: each field the server names in `details.fields` gets the
 * server's message next to it; anything else shows under the form. Nothing is sent twice while a
 * request is running.
 */
export function apiForm(
  id: string,
  fields: Field[],
  buttons: { label: string; action: (values: Record<string, string>) => Promise<void>; kind?: string }[],
): HTMLFormElement {
  const errors = new Map<string, HTMLElement>();
  const general = h('p', { class: 'error', role: 'alert', 'data-error': 'form' });
  const inputs = fields.map((f) => {
    const control = f.type === 'select'
      ? h('select', { name: f.name, id: `${id}-${f.name}` }, (f.options ?? []).map((o) => h('option', { value: o, selected: o === f.value }, o)))
      : h('input', { name: f.name, id: `${id}-${f.name}`, type: f.type ?? 'text', value: f.value ?? '', placeholder: f.placeholder ?? '', autocomplete: 'off' });
    const error = h('span', { class: 'field-error', 'data-error': f.name });
    errors.set(f.name, error);
    return h('label', { class: 'field' }, h('span', {}, f.label), control, error);
  });
  const form = h('form', { id, class: 'api-form', novalidate: true }, h('div', { class: 'fields' }, inputs), general) as HTMLFormElement;
  const row = h('div', { class: 'buttons' });
  for (const button of buttons) {
    const element = h('button', { type: 'button', class: button.kind ?? 'primary', 'data-action': button.label }, button.label);
    element.addEventListener('click', async () => {
      for (const e of errors.values()) e.textContent = '';
      general.textContent = '';
      const values = Object.fromEntries(fields.map((f) => [f.name, String((form.elements.namedItem(f.name) as HTMLInputElement).value).trim()]));
      const missing = fields.filter((f) => f.required && !values[f.name]);
      for (const f of missing) errors.get(f.name)!.textContent = `${f.label} is required.`;
      if (missing.length) return;
      element.setAttribute('disabled', '');
      try {
        await button.action(values);
      } catch (error) {
        showError(error, errors, general);
      } finally {
        element.removeAttribute('disabled');
      }
    });
    row.appendChild(element);
  }
  form.appendChild(row);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    (row.firstElementChild as HTMLButtonElement | null)?.click();
  });
  return form;
}

function showError(error: unknown, errors: Map<string, HTMLElement>, general: HTMLElement): void {
  if (!(error instanceof TallyError)) {
    general.textContent = String(error instanceof Error ? error.message : error);
    return;
  }
  let placed = false;
  for (const f of error.fields) {
    const name = f.field.split(/[.[]/)[0]!;
    const target = errors.get(name);
    if (target) {
      target.textContent = f.message.charAt(0).toUpperCase() + f.message.slice(1);
      placed = true;
    }
  }
  const detailField = typeof error.details.field === 'string' ? errors.get(error.details.field) : undefined;
  if (detailField) {
    detailField.textContent = error.message;
    placed = true;
  }
  if (!placed) general.textContent = `${error.message} (${error.code})`;
}
