// Course Goals: a page with a form that adds a goal to an in-memory list.
const path = require('path');
const express = require('express');
const bodyParser = require('body-parser');

const app = express();
const goals = [];

app.use(bodyParser.urlencoded({ extended: false }));
app.use(express.static(path.join(__dirname, 'public')));

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

app.get('/', (req, res) => {
  const items = goals.map((g) => `<li>${escapeHtml(g)}</li>`).join('\n        ');
  res.send(`<!DOCTYPE html>
<html>
  <head>
    <meta charset="utf-8">
    <title>Course Goals</title>
    <link rel="stylesheet" href="styles.css">
  </head>
  <body>
    <section>
      <h1>Course Goals</h1>
      <form action="/store-goal" method="POST">
        <label for="goal">Your goal</label>
        <input type="text" id="goal" name="goal">
        <button>Set course goal</button>
      </form>
    </section>
    <section>
      <h2>My goals</h2>
      <ul>
        ${items}
      </ul>
    </section>
  </body>
</html>
`);
});

app.post('/store-goal', (req, res) => {
  const goal = (req.body.goal || '').trim();
  if (goal) goals.push(goal);
  res.redirect('/');
});

app.listen(80, () => console.log('Course Goals listening on port 80'));
