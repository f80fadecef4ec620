import { StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import '../search.css';

interface Theme {
  primary_color?: string;
  secondary_color?: string;
  font_color?: string;
  logo_url?: string;
}

interface Answer {
  version: string;
  response: string | null;
  sources: { id: string; score: number; text: string; metadata: { source: string } }[];
}

/** `/t/<tenant>`: the tenant id is the path; everything else comes from the public theme route. */
const tenantId = decodeURIComponent(window.location.pathname.split('/')[2] ?? '');

/** With AUTH_MODE=jwt a query needs a token with the `query` scope for this tenant; kept for this tab only. */
const TOKEN_KEY = `ragswap-token:${tenantId}`;

/** The server validated the colours (strict hex), so they can go into CSS custom properties as they are. */
function applyTheme(theme: Theme) {
  const root = document.documentElement.style;
  if (theme.primary_color) root.setProperty('--primary', theme.primary_color);
  if (theme.secondary_color) root.setProperty('--secondary', theme.secondary_color);
  if (theme.font_color) root.setProperty('--font', theme.font_color);
}

function SearchPage() {
  const [theme, setTheme] = useState<Theme | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [question, setQuestion] = useState('');
  const [answer, setAnswer] = useState<Answer | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [asking, setAsking] = useState(false);
  const [token, setToken] = useState(() => sessionStorage.getItem(TOKEN_KEY) ?? '');
  const [needsToken, setNeedsToken] = useState(false);

  useEffect(() => {
    document.title = `Search · ${tenantId}`;
    fetch(`/t/${encodeURIComponent(tenantId)}/theme.json`)
      .then(async (response) => {
        const body = await response.json();
        if (!response.ok) throw new Error(response.status === 404 ? `There is no knowledge base called “${tenantId}”.` : body.message);
        applyTheme(body.theme);
        setTheme(body.theme);
      })
      .catch((caught: Error) => setLoadError(caught.message));
  }, []);

  async function ask() {
    setAsking(true);
    setError(null);
    try {
      const response = await fetch(`/query/${encodeURIComponent(tenantId)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query: question }),
      });
      const body = await response.json();
      if (response.status === 401) setNeedsToken(true);
      if (!response.ok) throw new Error(body.message ?? `HTTP ${response.status}`);
      setAnswer(body as Answer);
    } catch (caught) {
      setAnswer(null);
      setError((caught as Error).message);
    } finally {
      setAsking(false);
    }
  }

  return (
    <>
      <header className="brand">
        {theme?.logo_url && <img src={theme.logo_url} alt="" className="logo" />}
        <h1>{tenantId}</h1>
      </header>
      <main>
        {loadError ? (
          <p className="error" role="alert">
            {loadError}
          </p>
        ) : (
          <form
            className="ask"
            role="search"
            onSubmit={(event) => {
              event.preventDefault();
              if (question.trim()) void ask();
            }}
          >
            <label htmlFor="question">Your question</label>
            <div className="ask-row">
              <input id="question" name="question" maxLength={4000} autoFocus value={question} onChange={(e) => setQuestion(e.target.value)} />
              <button type="submit" disabled={asking || !question.trim()}>
                {asking ? 'Searching…' : 'Ask'}
              </button>
            </div>
          </form>
        )}
        {needsToken && (
          <form
            className="ask"
            onSubmit={(event) => {
              event.preventDefault();
              sessionStorage.setItem(TOKEN_KEY, token);
              setNeedsToken(false);
              if (question.trim()) void ask();
            }}
          >
            <label htmlFor="token">Access token</label>
            <div className="ask-row">
              <input id="token" name="token" type="password" autoComplete="off" value={token} onChange={(e) => setToken(e.target.value.trim())} />
              <button type="submit" disabled={!token}>
                Use token
              </button>
            </div>
          </form>
        )}
        <div aria-live="polite">
          {error && (
            <p className="error" role="alert">
              {error}
            </p>
          )}
          {answer && (
            <section className="answer" aria-labelledby="answer-title">
              <h2 id="answer-title">Answer</h2>
              <p className="response">{answer.response ?? 'No answer was found in the documents.'}</p>
              <h3>Sources</h3>
              <ol className="sources">
                {answer.sources.map((source) => (
                  <li key={source.id}>
                    <div className="source-head">
                      <strong>{source.metadata.source}</strong> <span className="score">score {source.score.toFixed(2)}</span>
                    </div>
                    <p>{source.text.length > 400 ? `${source.text.slice(0, 400)}…` : source.text}</p>
                  </li>
                ))}
              </ol>
            </section>
          )}
        </div>
      </main>
    </>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <SearchPage />
  </StrictMode>,
);
