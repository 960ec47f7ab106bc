import { useEffect, type ReactNode } from 'react';
import { AdminLogPage } from './admin/AdminLogPage.js';
import { AdminQueuePage } from './admin/AdminQueuePage.js';
import { AdminReportPage } from './admin/AdminReportPage.js';
import { SiteHeader } from './components/SiteHeader.js';
import { AccountPage } from './pages/AccountPage.js';
import { HomePage } from './pages/HomePage.js';
import { MeetingPage } from './pages/MeetingPage.js';
import { SignInPage } from './pages/SignInPage.js';
import { SignUpPage } from './pages/SignUpPage.js';
import { UnlockPage } from './pages/UnlockPage.js';
import { ReportAfterPage } from './report/ReportFromSaved.js';
import { useRoute, type Route } from './router.js';

const TITLES: Partial<Record<Route['page'], string>> = {
  home: 'Conclave',
  signin: 'Sign in — Conclave',
  signup: 'Create an account — Conclave',
  account: 'Your account — Conclave',
  unlock: 'Unlock end-to-end encryption — Conclave',
  report: 'Report someone — Conclave',
  admin: 'Reports — Conclave moderation',
  'admin-report': 'Report — Conclave moderation',
  'admin-log': 'Moderation log — Conclave moderation',
  'not-found': 'Page not found — Conclave',
};

/** Pages outside meetings: the site header above the page. */
function WithHeader({ children }: { children: ReactNode }) {
  return (
    <>
      <SiteHeader />
      {children}
    </>
  );
}

export function App() {
  const route = useRoute();
  useEffect(() => {
    const title = TITLES[route.page];
    if (title) document.title = title;
  }, [route.page]);
  switch (route.page) {
    case 'home':
      return (
        <WithHeader>
          <HomePage />
        </WithHeader>
      );
    case 'meeting':
      // A new key per meeting id: nothing of one meeting leaks into the next.
      return <MeetingPage key={route.meetingId} meetingId={route.meetingId} />;
    case 'signin':
      return (
        <WithHeader>
          <SignInPage />
        </WithHeader>
      );
    case 'signup':
      return (
        <WithHeader>
          <SignUpPage />
        </WithHeader>
      );
    case 'account':
      return (
        <WithHeader>
          <AccountPage />
        </WithHeader>
      );
    case 'unlock':
      return (
        <WithHeader>
          <UnlockPage />
        </WithHeader>
      );
    case 'report':
      return (
        <WithHeader>
          <ReportAfterPage meetingId={route.meetingId} />
        </WithHeader>
      );
    case 'admin':
      return (
        <WithHeader>
          <AdminQueuePage />
        </WithHeader>
      );
    case 'admin-report':
      return (
        <WithHeader>
          <AdminReportPage key={route.reportId} reportId={route.reportId} />
        </WithHeader>
      );
    case 'admin-log':
      return (
        <WithHeader>
          <AdminLogPage />
        </WithHeader>
      );
    case 'not-found':
      return (
        <WithHeader>
          <main className="page narrow">
            <h1>Page not found</h1>
            <p>This address is not a Conclave page.</p>
            <p>
              <a href="/">Go to the home page</a> to start or join a meeting.
            </p>
          </main>
        </WithHeader>
      );
  }
}
