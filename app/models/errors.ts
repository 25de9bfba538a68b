/** An expected domain failure with a message that is safe to show to the user as-is. */
export class DomainError extends Error {
  constructor(
    public readonly code: string,
    public readonly userMessage: string,
    public readonly status = 400,
  ) {
    super(`${code}: ${userMessage}`);
    this.name = "DomainError";
  }
}
