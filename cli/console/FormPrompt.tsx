/**
 * A request's form on screen: its title and the prompt of the question being answered. An answer its field refuses
 * asks again with the reason; the last answer builds the request and hands it on. Pure: props in, callbacks out.
 */
import { Text } from 'ink';
import type { MutableRefObject } from 'react';
import type { ConsoleAction } from './actions.js';
import { Prompt } from './Prompt.js';
import type { FormState } from './request-forms.js';

export interface FormPromptProps {
  form: FormState;
  /** The form as the latest keys left it: answers typed ahead arrive before a render. */
  current: () => FormState | undefined;
  pending: MutableRefObject<string>;
  onChange: (next: FormState | undefined) => void;
  onDone: (action: ConsoleAction) => void;
}

export function FormPrompt({ form, current, pending, onChange, onDone }: FormPromptProps) {
  const field = form.form.fields[form.index]!;
  return (
    <>
      <Text bold color="yellow" wrap="truncate">
        {form.form.title}
      </Text>
      <Prompt
        key={`${form.index}:${form.tries ?? 0}`}
        label={field.label}
        initial={field.initial ?? ''}
        {...(field.hint ? { hint: field.hint } : {})}
        {...(form.problem ? { problem: form.problem } : {})}
        isActive
        pending={pending}
        onCancel={() => onChange(undefined)}
        onSubmit={(value) => {
          const now = current();
          if (!now) return;
          const problem = now.form.fields[now.index]!.check?.(value);
          if (problem) return onChange({ ...now, problem, tries: (now.tries ?? 0) + 1 });
          const values = [...now.values, value];
          if (values.length < now.form.fields.length) return onChange({ form: now.form, index: now.index + 1, values });
          onChange(undefined);
          onDone(now.form.build(values));
        }}
      />
    </>
  );
}
