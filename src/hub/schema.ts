/**
 * The Standard Schema v1 interface (https://standardschema.dev), written out here so any
 * library that implements it (zod 4, valibot, arktype) can validate channel publications
 * without Switchboard depending on one.
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1
    readonly vendor: string
    readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>
    readonly types?: { readonly input: Input; readonly output: Output } | undefined
  }
}

/** Result of a Standard Schema validation. */
export type StandardResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<StandardIssue> }

/** One validation issue. */
export interface StandardIssue {
  readonly message: string
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined
}

/** The output type of a schema. */
export type InferOutput<S> = S extends StandardSchemaV1<unknown, infer O> ? O : unknown

/** Runs a schema; resolves to the validated value or the issues. */
export async function validate<O>(
  schema: StandardSchemaV1<unknown, O>,
  value: unknown,
): Promise<StandardResult<O>> {
  return schema['~standard'].validate(value)
}

/** Formats issues as one short message (`path: message; …`), at most `max` issues. */
export function describeIssues(issues: ReadonlyArray<StandardIssue>, max = 5): string {
  return issues
    .slice(0, max)
    .map((issue) => {
      const path = issue.path
        ?.map((p) => String(typeof p === 'object' && p !== null ? p.key : p))
        .join('.')
      return path ? `${path}: ${issue.message}` : issue.message
    })
    .join('; ')
}
