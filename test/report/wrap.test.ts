import { describe, expect, it } from 'vitest';
import { fitsWidth, wrapProse, wrapShell } from '../../src/report/wrap.ts';

/** Undoes the ` \` continuations the way a shell reads them. */
function unwrap(lines: string[]): string {
  return lines
    .map((l) => l.trim())
    .join('\n')
    .replace(/ \\\n/g, ' ');
}

describe('wrapShell', () => {
  it('breaks between arguments only, keeps --flag value, quotes and $( ) whole', () => {
    const cmd =
      "docker run --rm --network container:$(docker compose ps -q s3-health) busybox sh -c 'ip route get 169.254.169.254 && echo reachable' --query 'Reservations[0].Instances[0].MetadataOptions'";
    const lines = wrapShell(cmd, 60, '  ');
    expect(lines.length).toBeGreaterThan(1);
    expect(unwrap(lines)).toBe(cmd);
    expect(
      lines.some((l) => l.includes('--network container:$(docker compose ps -q s3-health)')),
    ).toBe(true);
    for (const l of lines.slice(0, -1)) expect(l.endsWith(' \\')).toBe(true);
    for (const l of lines) expect(fitsWidth(l, 80)).toBe(true);
  });

  it('splits a $( ) between its own arguments only when it cannot fit on one line', () => {
    const cmd =
      "ASSOCIATION=$(aws ec2 describe-iam-instance-profile-associations --region eu-west-1 --filters Name=instance-id,Values=i-0123456789abcdef0 --query 'IamInstanceProfileAssociations[0].AssociationId' --output text)";
    const lines = wrapShell(cmd, 80, '      ');
    expect(lines.length).toBeGreaterThan(2);
    expect(unwrap(lines)).toBe(cmd);
    expect(
      lines.some((l) => l.includes("--query 'IamInstanceProfileAssociations[0].AssociationId'")),
    ).toBe(true);
    for (const l of lines) expect(fitsWidth(l, 80)).toBe(true);
  });

  it('leaves short lines and multi-line quoted scripts alone', () => {
    const script = "sh -c '\n  echo one\n  echo two'";
    expect(wrapShell(script, 80, '')).toEqual(script.split('\n'));
  });
});

describe('wrapProse', () => {
  it('wraps at the width with a hanging indent and keeps an overlong token whole', () => {
    const long = `arn:aws:sts::123456789012:assumed-role/${'r'.repeat(60)}/i-0123456789abcdef0`;
    const lines = wrapProse(`cause: User ${long} is not authorized`, 40, '  ', '    ');
    expect(lines[0]).toBe('  cause: User');
    expect(lines[1]).toBe(`    ${long}`);
    expect(lines[2]).toBe('    is not authorized');
    for (const l of lines) expect(fitsWidth(l, 40)).toBe(true);
  });
});
