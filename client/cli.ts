/**
 * The promoter CLI (README, "CLI"). Exit codes: 0 success, 1 the run failed,
 * 2 bad input or usage.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { UsageError } from './connect';
import { validateCommand } from './commands/validate';
import { runCommand } from './commands/run';
import { statusCommand } from './commands/status';
import { reportCommand } from './commands/report';
import { replayCommand } from './commands/replay';
import { mirrorCommand } from './commands/mirror';
import { scheduleCommand } from './commands/schedule';
import { auditCommand } from './commands/audit';
import { auditReceiverCommand } from './commands/audit-receiver';
import { deploymentCommand } from './commands/deployment';
import { snapshotCommand } from './commands/snapshot';
import { processOutput as out } from './output';
import { startupMessage } from '../worker/startup-errors';

const positiveInt = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive whole number');
  return n;
};

/** Repeatable option values, in order. */
const collect = (v: string, all: string[]): string[] => [...all, v];

export function buildCli(setExit: (code: number) => void): Command {
  const program = new Command('promoter')
    .description('Durable container-image promoter: plan, verify, copy by digest, sign and attest')
    .exitOverride()
    .showHelpAfterError();

  const manifestOptions = (c: Command): Command =>
    c
      .option('--manifest <file>', 'a plain promoter manifest (registries + images in one file)')
      .option('--thin-manifest-dir <dir>', 'a thin layout: manifests/<p>/promoter-manifest.yaml + images/<p>/images.yaml');

  manifestOptions(program.command('validate').description('check manifests offline; touches no registry'))
    .option('--json', 'machine-readable output')
    .action(async (o: Parameters<typeof validateCommand>[0]) => setExit(await validateCommand(o)));

  manifestOptions(program.command('run').description('start a promotion (a dry run unless --confirm)'))
    .option('--confirm', 'really promote, sign and attest (default: dry run, stops after Validate)')
    .option('--wait', 'wait for the run and print its report')
    .option('--json', 'machine-readable output')
    .option('--batch-size <n>', 'copy tasks per Promote activity', positiveInt)
    .option('--parallel-batches <n>', 'Promote activities in flight at once', positiveInt)
    .option('--batches-per-workflow <n>', 'past this many batches Promote fans out to child workflows', positiveInt)
    .option('--verify-tags', "HEAD every destination tag instead of trusting the promoter's record of tags it verified or wrote")
    .action(async (o: Parameters<typeof runCommand>[0]) => setExit(await runCommand(o, out)));

  program
    .command('status <id>')
    .description('progress of a run')
    .option('--json')
    .action(async (id: string, o: Parameters<typeof statusCommand>[1]) => setExit(await statusCommand(id, o, out)));
  program
    .command('report <id>')
    .description('report of a finished run')
    .option('--json')
    .option('--run-id <runId>')
    .action(async (id: string, o: Parameters<typeof reportCommand>[1]) => setExit(await reportCommand(id, o, out)));
  program
    .command('replay <id>')
    .description("replay a run's history against this code; exit 0 when deterministic")
    .option('--run-id <runId>')
    .action(async (id: string, o: Parameters<typeof replayCommand>[1]) => setExit(await replayCommand(id, o, out)));

  manifestOptions(program.command('mirror-signatures'))
    .description(
      'copy missing or different signatures to every mirror, sign promoted digests that have none (default: the manifests of the last confirmed promotion)',
    )
    .option('--confirm', 'write (default: report only)')
    .option('--verify', 'also read and verify every signature at every destination (finds one replaced behind the record; a request or more per digest)')
    .option('--wait')
    .option('--json')
    .action(async (o: Parameters<typeof mirrorCommand>[0]) => setExit(await mirrorCommand(o, out)));

  manifestOptions(program.command('audit'))
    .description(
      'flag tags no manifest lists, moved tags and unsigned digests at every destination (default: the manifests of the last confirmed promotion); exit 1 when anything is flagged',
    )
    .option('--verify', "HEAD every wanted tag and verify every signature instead of trusting the promoter's records (a request or more per tag and digest)")
    .option('--wait', 'wait for the audit and print its report')
    .option('--json')
    .action(async (o: Parameters<typeof auditCommand>[0]) => setExit(await auditCommand(o, out)));

  program
    .command('audit-receiver')
    .description(
      "receive distribution's push notifications and pass every tag push to the audit (needs PROMOTER_AUDIT_WEBHOOK_SECRET); runs until SIGINT/SIGTERM",
    )
    .option('--listen <host:port>', 'default $PROMOTER_AUDIT_RECEIVER_ADDRESS, else 127.0.0.1:5010')
    .action(async (o: Parameters<typeof auditReceiverCommand>[0]) => setExit(await auditReceiverCommand(o, out)));

  program
    .command('schedule <action>')
    .description('the nightly re-mirroring schedule (--audit: the audit schedule): create|update|describe|delete|trigger')
    .option('--audit', 'the audit schedule instead (default cron "30 * * * *", hourly)')
    .option('--cron <expr>', 'cron expression (default "0 2 * * *")')
    .option('--timezone <tz>', 'time zone (default UTC)')
    .option('--json')
    .action(async (action: string, o: Parameters<typeof scheduleCommand>[1]) => setExit(await scheduleCommand(action, o, out)));

  program
    .command('snapshot <registry>')
    .description("what a registry holds under REGISTRY/PREFIX (names, digests, tags), as kpromo's images.yaml by default; reads the registry directly")
    .option('--format <format>', 'yaml (images.yaml), json or csv', 'yaml')
    .option('--signatures', "check each digest's promoter signature and attestation (--key / PROMOTER_PUBLIC_KEY, or the keyless identity)")
    .option('--repository <name>', 'read this image (below the prefix) instead of the catalog; repeatable', collect, [] as string[])
    .option('--images <file>', 'read the images an images.yaml names instead of the catalog')
    .option('--key <file>', "the promoter's public key for --signatures (default $PROMOTER_PUBLIC_KEY)")
    .option('--certificate-identity <id>', 'the keyless identity for --signatures (default $PROMOTER_KEYLESS_IDENTITY)')
    .option('--certificate-oidc-issuer <url>', 'its OIDC issuer (default $PROMOTER_KEYLESS_ISSUER)')
    .action(async (registry: string, o: Parameters<typeof snapshotCommand>[1]) => setExit(await snapshotCommand(registry, o, out)));

  program
    .command('deployment <action>')
    .description("the worker's Temporal Worker Deployment: describe | set-current (make a version the one new runs go to)")
    .option('--build-id <id>', 'the version (default: this build, PROMOTER_BUILD_ID or dist/build-info.json)')
    .option('--deployment-name <name>', 'default PROMOTER_DEPLOYMENT_NAME, else "promoter"')
    .option('--json')
    .action(async (action: string, o: Parameters<typeof deploymentCommand>[1]) => setExit(await deploymentCommand(action, o, out)));

  program
    .command('worker')
    .description('run a worker until SIGINT/SIGTERM')
    .action(async () => {
      const { runWorker } = await import('../worker/main');
      await runWorker();
    });
  return program;
}

export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const program = buildCli((c) => (code = c));
  try {
    await program.parseAsync(argv);
    return code;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof UsageError) {
      process.stderr.write(`promoter: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`promoter: ${startupMessage(err) ?? (err as Error).message}\n`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // main turns every error into an exit code: the promise cannot reject, so nothing awaits it.
  void main(process.argv).then((code) => process.exit(code));
}
