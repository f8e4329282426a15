import { ControlReply, isControlRequest } from '../../console/launcher-link';
import { SupervisedChild } from './supervised-child';

/**
 * Dev mode only (`npm start` with BANK_DEV_MODE=on): the launcher's side of the console's
 * stop / pause / resume / restart of a business server, over the console's IPC channel. A
 * stopped server stays stopped (no supervision restart) until restarted from here; a paused one
 * gets SIGSTOP (it holds its sockets and answers nothing — what a GC pause or a hung host
 * looks like to the balancer) until resume.
 */
export function devControl(
  business: readonly SupervisedChild[],
  onChange: (what: string) => void,
): (message: unknown, reply: (answer: unknown) => void) => void {
  return (message, reply) => {
    if (!isControlRequest(message)) return;
    const answer = (ok: boolean, text: string): void =>
      reply({ type: 'distbank-control-reply', id: message.id, ok, message: text } satisfies ControlReply);
    const child = business.find((b) => b.name === message.server);
    if (child === undefined) return answer(false, `no business server named ${message.server}`);
    const done = (text: string): void => {
      onChange(`${message.server} ${message.action}: ${text}`);
      answer(true, text);
    };
    switch (message.action) {
      case 'stop':
        if (!child.running) return answer(false, `${child.name} is not running`);
        child.signal('SIGCONT'); // a paused process cannot act on SIGTERM
        void child.stop().then(() => done(`${child.name} stopped`));
        return;
      case 'pause':
        return child.signal('SIGSTOP')
          ? done(`${child.name} paused (SIGSTOP)`)
          : answer(false, `${child.name} is not running`);
      case 'resume':
        return child.signal('SIGCONT')
          ? done(`${child.name} resumed (SIGCONT)`)
          : answer(false, `${child.name} is not running`);
      case 'restart':
        child.signal('SIGCONT');
        void child.startAgain().then(
          (r) => done(`${child.name} restarted, pid ${r.pid}`),
          (e: unknown) => answer(false, `restart failed: ${e instanceof Error ? e.message : String(e)}`),
        );
        return;
    }
  };
}
