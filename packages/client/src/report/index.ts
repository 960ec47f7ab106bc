export {
  REPORT_LOG_MESSAGES,
  ReportLog,
  type ReportableChat,
  type ReportableMeeting,
  type ReportablePerson,
} from './report-log.js';
export { buildReport, type ReportChoice, type ReportScreenshot } from './build-report.js';
