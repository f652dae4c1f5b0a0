// claude-coord admin dashboard: filters the claims as the admin types, and asks before an expire.
// Without this script the page still works: the filter box submits as a GET form, and the expire
// button leads to a confirmation page on the server.
'use strict';

(function () {
  var filter = document.getElementById('filter');

  function countLabel(shown, total, filtering) {
    return filtering ? shown + ' of ' + total : String(total);
  }

  function applyFilter() {
    var needle = filter.value.trim().toLowerCase();
    var filtering = needle.length > 0;
    var anyShown = false;
    document.querySelectorAll('section.repo').forEach(function (section) {
      var sectionShown = 0;
      section.querySelectorAll('table.claims').forEach(function (table) {
        var rows = table.querySelectorAll('tbody tr[data-filter]');
        var shown = 0;
        rows.forEach(function (row) {
          var match = !filtering || row.getAttribute('data-filter').indexOf(needle) !== -1;
          row.hidden = !match;
          if (match) { shown++; }
        });
        var heading = table.previousElementSibling;
        var count = heading && heading.querySelector('.count');
        if (count) { count.textContent = countLabel(shown, rows.length, filtering); }
        sectionShown += shown;
      });
      section.hidden = filtering && sectionShown === 0;
      if (sectionShown > 0) { anyShown = true; }
    });
    var noMatch = document.getElementById('no-match');
    if (noMatch) { noMatch.hidden = !filtering || anyShown; }
    document.querySelectorAll('form.expire input[name="q"]').forEach(function (input) { input.value = filter.value.trim(); });
    var url = new URL(window.location.href);
    if (filtering) { url.searchParams.set('q', filter.value.trim()); } else { url.searchParams.delete('q'); }
    url.searchParams.delete('notice');
    url.searchParams.delete('repo');
    url.searchParams.delete('task');
    window.history.replaceState(null, '', url);
  }

  if (filter) {
    filter.addEventListener('input', applyFilter);
    filter.form.addEventListener('submit', function (event) { event.preventDefault(); applyFilter(); });
  }

  document.querySelectorAll('form.expire').forEach(function (form) {
    form.addEventListener('submit', function (event) {
      if (!window.confirm(form.getAttribute('data-confirm'))) {
        event.preventDefault();
        return;
      }
      form.querySelector('input[name="confirmed"]').value = 'yes';
      form.querySelector('button').disabled = true;
    });
  });
})();
