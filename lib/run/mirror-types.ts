/** Input and report of the signature re-mirroring run. */
export interface MirrorInput {
  /** false: report what is missing, write nothing. */
  confirm: boolean;
  /** The bundle to check; unset means the bundle of the last confirmed promotion. */
  bundleKey?: string;
  /**
   * Also read and verify every signature at every destination (not only what the tags and the
   * promoter's records say): finds a signature replaced behind the record, at a request or more per
   * digest and destination.
   */
  verify?: boolean;
}

export interface MirrorReport {
  status: 'succeeded' | 'failed' | 'dry-run';
  bundleKey: string;
  digests: number;
  signedNow: number;
  mirrored: number;
  alreadyInSync: number;
  /** Destinations that lacked promotion attestations or verification summaries another destination of the image holds, and got them back (absent in reports of earlier versions). */
  attestationsRepaired?: number;
  failures: { edge: string; error: string }[];
  reportKey: string;
}
