import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.js';
import { pendingRedeems } from './account/pending-token.js';
import './styles.css';

// A phone-check token waiting for its redeem is redeemed in whichever page is open then.
pendingRedeems.start();

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}
