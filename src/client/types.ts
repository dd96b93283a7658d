/**
 * Typed channels without code generation. The server exports a *type* describing its
 * namespaces and rpc methods; the client takes it as a type parameter and checks every
 * `subscribe`, `publish` and `rpc` against it. Nothing here exists at run time.
 *
 * A server definition is any object type of this shape (extra fields are ignored):
 * ```ts
 * // server.ts
 * const chat = { schema: z.object({ text: z.string() }), clientPublish: true } satisfies NamespaceOptions
 * app.channels.namespace('chat', chat)
 * const rpc = { add: (data: { a: number; b: number }) => data.a + data.b }
 * export type App = { channels: { chat: typeof chat }; rpc: typeof rpc }
 *
 * // browser.ts
 * const client = new SwitchboardClient<App>({ url })
 * client.subscribe('chat:room-1', { onPublication(p) { p.data.text } }) // string
 * ```
 * A namespace's publication type comes from its `schema` (any Standard Schema v1 library: the
 * output type for what subscribers receive, the input type for what `publish` accepts) or, with
 * no schema, from a `data` field used as a type annotation (`{ data: Cursor }`). An rpc method is
 * a handler function `(data: I, …) => R | Promise<R>`, `{ input?: schema; output?: schema }`, or
 * `{ data: I; result: R }`.
 */
export interface ServerDefinition {
  readonly channels?: object
  readonly rpc?: object
}

/** Structural match for a Standard Schema v1 schema's type information. */
interface StandardTyped<I, O> {
  readonly '~standard': { readonly types?: { readonly input: I; readonly output: O } | undefined }
}

/** The namespace of a channel name: the part before the first `:`, or `''`. */
export type NamespaceOf<C extends string> = C extends `${infer N}:${string}` ? N : ''

type Channels<D> = D extends { readonly channels: infer Ch extends object } ? Ch : never

type NamespaceDef<D, C extends string> = [Channels<D>] extends [never]
  ? undefined
  : NamespaceOf<C> extends keyof Channels<D>
    ? Channels<D>[NamespaceOf<C>]
    : undefined

/**
 * The channel names a definition allows: `ns:anything` for each declared namespace (and any name
 * without `:` when the default namespace `''` is declared). Without channel types, any string.
 */
export type ChannelName<D> = [Channels<D>] extends [never]
  ? string
  :
      | `${Exclude<keyof Channels<D>, ''> & string}:${string}`
      | ('' extends keyof Channels<D> ? string : never)

/** What subscribers of channel `C` receive as `publication.data`. */
export type PublicationData<D, C extends string> =
  NamespaceDef<D, C> extends { readonly schema: StandardTyped<unknown, infer O> }
    ? O
    : NamespaceDef<D, C> extends { readonly data: infer T }
      ? T
      : unknown

/** What `publish` on channel `C` accepts (the schema's input type). */
export type PublishData<D, C extends string> =
  NamespaceDef<D, C> extends { readonly schema: StandardTyped<infer I, unknown> }
    ? I
    : NamespaceDef<D, C> extends { readonly data: infer T }
      ? T
      : unknown

type RpcDefs<D> = D extends { readonly rpc: infer R extends object } ? R : never

/** The rpc method names a definition allows (any string without rpc types). */
export type RpcMethod<D> = [RpcDefs<D>] extends [never] ? string : keyof RpcDefs<D> & string

type RpcDef<D, M extends string> = [RpcDefs<D>] extends [never]
  ? undefined
  : M extends keyof RpcDefs<D>
    ? RpcDefs<D>[M]
    : undefined

/** The `data` an rpc method takes. */
export type RpcInput<D, M extends string> =
  RpcDef<D, M> extends (data: infer I, ...rest: never[]) => unknown
    ? I
    : RpcDef<D, M> extends { readonly input: StandardTyped<infer I, unknown> }
      ? I
      : RpcDef<D, M> extends { readonly data: infer I }
        ? I
        : unknown

/** What an rpc method resolves to. */
export type RpcOutput<D, M extends string> =
  RpcDef<D, M> extends (...args: never[]) => infer R
    ? Awaited<R>
    : RpcDef<D, M> extends { readonly output: StandardTyped<unknown, infer O> }
      ? O
      : RpcDef<D, M> extends { readonly result: infer R }
        ? R
        : unknown
