/**
 * Whether the process is draining. Set once SIGTERM arrives: `/readyz` turns
 * 503 so load balancers stop sending work, and responses ask clients to close
 * their keep-alive connections so the server can finish.
 */
export class Lifecycle {
  #stopping = false;

  get stopping(): boolean {
    return this.#stopping;
  }

  markStopping(): void {
    this.#stopping = true;
  }
}
