import { effect } from '@preact/signals';
import { render } from 'preact';
import { App } from './app';
import { lang, t } from './i18n';
import './placeholders';
import './plugins';
import './styles.css';

effect(() => {
  document.documentElement.lang = lang.value;
  document.title = t('app.title');
});
render(<App />, document.getElementById('app')!);
