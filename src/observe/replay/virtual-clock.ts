/**
 * Replay time: it stands where the recorded run stood, moved forward by each recorded answer the
 * replay uses, so wall-time limits and durations come out as they did live, however fast the
 * replay runs.
 */
export class VirtualClock {
  private current: number;

  constructor(start: number) {
    this.current = start;
  }

  readonly now = (): number => this.current;

  advanceTo(at: number): void {
    if (at > this.current) this.current = at;
  }
}
