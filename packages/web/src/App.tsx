import { useEffect } from 'react';
import { HomePage } from './pages/HomePage.js';
import { MeetingPage } from './pages/MeetingPage.js';
import { useRoute } from './router.js';

export function App() {
  const route = useRoute();
  useEffect(() => {
    if (route.page === 'home') document.title = 'Conclave';
  }, [route.page]);
  switch (route.page) {
    case 'home':
      return <HomePage />;
    case 'meeting':
      // A new key per meeting id: nothing of one meeting leaks into the next.
      return <MeetingPage key={route.meetingId} meetingId={route.meetingId} />;
    case 'not-found':
      return (
        <main className="page narrow">
          <h1>Page not found</h1>
          <p>This address is not a Conclave page.</p>
          <p>
            <a href="/">Go to the home page</a> to start or join a meeting.
          </p>
        </main>
      );
  }
}
