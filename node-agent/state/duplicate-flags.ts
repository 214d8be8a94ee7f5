import { checkInteger, parseDuration } from '../../common/validation';
import { DEFAULT_DUPLICATE_DETECTION, DuplicateDetectionOptions } from './duplicate-detector';

const DAY_MS = 24 * 3600_000;

// --dup-max-moves, --dup-window and --dup-freeze-time, checked; the defaults for those not given.
export function duplicateOptions(values: {
  'dup-max-moves'?: string;
  'dup-window'?: string;
  'dup-freeze-time'?: string;
}): DuplicateDetectionOptions {
  const d = DEFAULT_DUPLICATE_DETECTION;
  const maxMoves = values['dup-max-moves'];
  const window = values['dup-window'];
  const freeze = values['dup-freeze-time'];
  return {
    maxMoves: maxMoves === undefined ? d.maxMoves : checkInteger('--dup-max-moves', Number(maxMoves), 2, 1000),
    windowMs: window === undefined ? d.windowMs : parseDuration('--dup-window', window, 1000, DAY_MS),
    freezeMs:
      freeze === undefined
        ? d.freezeMs
        : freeze === 'permanent'
          ? 'permanent'
          : parseDuration('--dup-freeze-time', freeze, 1000, DAY_MS),
  };
}
