/**
 * A byte link to a device: a TCP socket or a serial port. The client session
 * (`client.ts`) frames requests on top of it. One link per connection.
 */
export interface Link {
  /** Sends bytes; never throws (a failed write shows up as `onClose`). */
  write(bytes: Uint8Array): void;
  /** Closes the link; `onClose` is not called for a close asked for here. Never throws. */
  close(): void;
}

/** What a link reports to its owner. */
export interface LinkHandlers {
  onData(chunk: Uint8Array): void;
  /** The peer closed the link or an I/O error happened. Called at most once. */
  onClose(error: Error): void;
}

/**
 * Opens a link within `timeoutMs`.
 * @throws NodiError `timeout` when the link is not up in time, `communication` when refused.
 */
export type LinkOpener = (handlers: LinkHandlers, timeoutMs: number) => Promise<Link>;
