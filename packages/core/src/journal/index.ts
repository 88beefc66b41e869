export {
  openJournal,
  type Journal,
  type OpenJournalOptions,
  type OpenJournalResult,
  type TransitionPatch,
} from './open-journal';
export { readJournal, clearJournal, type JournalSnapshot } from './read-journal';
export { recordFileName, isJournalTemp } from './journal-files';
export {
  JOURNAL_SCHEMA,
  RECORD_STATUSES,
  FINAL_STATUSES,
  type PackageRecord,
  type RecordError,
  type RecordStatus,
  type RunPackage,
  type RunRecord,
  type RunStatus,
} from './records';
