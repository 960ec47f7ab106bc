import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.js';
import { pendingRedeems } from './account/pending-token.js';
import { pruneSavedMeetings } from './report/saved-meetings.js';
import './styles.css';

// A phone-check token waiting for its redeem is redeemed in whichever page is open then.
pendingRedeems.start();
// What this device kept of past meetings for reports goes once it is older than the limit.
pruneSavedMeetings();

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}
